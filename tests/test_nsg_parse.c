/*
 * NSG text parsers: port lists, protocol/direction/access words and address items, as
 * azdocs:articles/virtual-network/network-security-groups-overview.md ("Security rules")
 * describes the fields and as az accepts them (enum words in any case).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "model/nsg.h"

#define IN    MODEL_DIR_INBOUND
#define OUT   MODEL_DIR_OUTBOUND
#define ALLOW MODEL_ACCESS_ALLOW
#define DENY  MODEL_ACCESS_DENY

static void port_lists_parse_like_azure(void **state)
{
    (void)state;
    GArray *a = g_array_new(FALSE, FALSE, sizeof(ModelPortRange));
    assert_true(model_nsg_parse_ports("80, 10000-10005", a, NULL));
    assert_int_equal(a->len, 2);
    assert_int_equal(g_array_index(a, ModelPortRange, 0).lo, 80);
    assert_int_equal(g_array_index(a, ModelPortRange, 0).hi, 80);
    assert_int_equal(g_array_index(a, ModelPortRange, 1).lo, 10000);
    assert_int_equal(g_array_index(a, ModelPortRange, 1).hi, 10005);
    g_array_set_size(a, 0);
    assert_true(model_nsg_parse_ports("*", a, NULL));
    assert_int_equal(a->len, 1);
    assert_int_equal(g_array_index(a, ModelPortRange, 0).lo, 0);
    assert_int_equal(g_array_index(a, ModelPortRange, 0).hi, 65535);
    assert_true(model_nsg_parse_ports(" 0-65535 ,443", a, NULL));
    assert_int_equal(a->len, 3);

    static const struct {
        const char *text;
        int code;
    } bad[] = {
        {"", MODEL_NSG_ERROR_SYNTAX},       {"  ", MODEL_NSG_ERROR_SYNTAX},
        {"80,,90", MODEL_NSG_ERROR_SYNTAX}, {"80,", MODEL_NSG_ERROR_SYNTAX},
        {",80", MODEL_NSG_ERROR_SYNTAX},    {"-5", MODEL_NSG_ERROR_SYNTAX},
        {"10-", MODEL_NSG_ERROR_SYNTAX},    {"80;90", MODEL_NSG_ERROR_SYNTAX},
        {"*,80", MODEL_NSG_ERROR_SYNTAX},   {"80,*", MODEL_NSG_ERROR_SYNTAX},
        {"8 0", MODEL_NSG_ERROR_SYNTAX},    {"http", MODEL_NSG_ERROR_SYNTAX},
        {"+80", MODEL_NSG_ERROR_SYNTAX},    {"10005-10000", MODEL_NSG_ERROR_RANGE},
        {"65536", MODEL_NSG_ERROR_RANGE},   {"1-65536", MODEL_NSG_ERROR_RANGE},
        {"123456", MODEL_NSG_ERROR_RANGE},  {"99999999999999999999", MODEL_NSG_ERROR_RANGE},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        guint before = a->len;
        if (model_nsg_parse_ports(bad[i].text, a, &err))
            fail_msg("\"%s\" parsed", bad[i].text);
        assert_int_equal(err->code, bad[i].code);
        assert_int_equal(a->len, before); /* nothing half-appended */
        g_error_free(err);
    }
    assert_false(model_nsg_parse_ports(NULL, a, NULL));
    g_array_free(a, TRUE);
}

static void enum_fields_parse_case_insensitively(void **state)
{
    (void)state;
    ModelNsgProtocol p = MODEL_NSG_PROTO_TCP;
    static const struct {
        const char *text;
        ModelNsgProtocol want;
    } protos[] = {{"Tcp", MODEL_NSG_PROTO_TCP}, {"tcp", MODEL_NSG_PROTO_TCP},
                  {"UDP", MODEL_NSG_PROTO_UDP}, {"Icmp", MODEL_NSG_PROTO_ICMP},
                  {"Esp", MODEL_NSG_PROTO_ESP}, {"ah", MODEL_NSG_PROTO_AH},
                  {"*", MODEL_NSG_PROTO_ANY},   {"Any", MODEL_NSG_PROTO_ANY}};
    for (size_t i = 0; i < G_N_ELEMENTS(protos); i++) {
        assert_true(model_nsg_parse_protocol(protos[i].text, &p, NULL));
        assert_int_equal(p, protos[i].want);
    }
    GError *err = NULL;
    assert_false(model_nsg_parse_protocol("Gre", &p, &err));
    assert_int_equal(err->code, MODEL_NSG_ERROR_SYNTAX);
    assert_non_null(strstr(err->message, "Gre"));
    assert_non_null(strstr(err->message, "Tcp"));
    g_clear_error(&err);
    assert_int_equal(p, MODEL_NSG_PROTO_ANY); /* untouched on failure */
    assert_false(model_nsg_parse_protocol(NULL, &p, NULL));

    ModelDirection d;
    assert_true(model_nsg_parse_direction("inbound", &d, NULL));
    assert_int_equal(d, IN);
    assert_true(model_nsg_parse_direction("Outbound", &d, NULL));
    assert_int_equal(d, OUT);
    assert_false(model_nsg_parse_direction("In", &d, &err));
    g_clear_error(&err);

    ModelAccess a;
    assert_true(model_nsg_parse_access("deny", &a, NULL));
    assert_int_equal(a, DENY);
    assert_true(model_nsg_parse_access("Allow", &a, NULL));
    assert_int_equal(a, ALLOW);
    assert_false(model_nsg_parse_access("Permit", &a, &err));
    g_clear_error(&err);

    assert_string_equal(model_nsg_protocol_name(MODEL_NSG_PROTO_ANY), "*");
    assert_string_equal(model_nsg_protocol_name(MODEL_NSG_PROTO_ICMP), "Icmp");
    assert_string_equal(model_direction_name(OUT), "Outbound");
    assert_string_equal(model_access_name(DENY), "Deny");
}

static void address_items_parse_as_any_prefix_or_tag(void **state)
{
    (void)state;
    ModelNsgAddr a;
    const char *anys[] = {"*", "Any", "any", "0.0.0.0/0"};
    for (size_t i = 0; i < G_N_ELEMENTS(anys); i++) {
        assert_true(model_nsg_addr_parse(anys[i], &a, NULL));
        assert_int_equal(a.kind, MODEL_NSG_ADDR_PREFIX);
        assert_int_equal(a.prefix.len, 0);
        assert_string_equal(a.text, anys[i]);
        model_nsg_addr_clear(&a);
    }
    assert_true(model_nsg_addr_parse("10.0.0.5/24", &a, NULL));
    assert_int_equal(a.kind, MODEL_NSG_ADDR_PREFIX);
    assert_int_equal(a.prefix.addr, MODEL_IP4(10, 0, 0, 0));
    assert_int_equal(a.prefix.len, 24);
    assert_string_equal(a.text, "10.0.0.5/24");
    model_nsg_addr_clear(&a);
    assert_true(model_nsg_addr_parse("168.63.129.16", &a, NULL));
    assert_int_equal(a.prefix.len, 32);
    model_nsg_addr_clear(&a);
    assert_true(model_nsg_addr_parse("Storage.EastUS", &a, NULL));
    assert_int_equal(a.kind, MODEL_NSG_ADDR_TAG);
    assert_string_equal(a.text, "Storage.EastUS");
    model_nsg_addr_clear(&a);
    const char *bad[] = {"",    "10.0.0.0/33",   "10.0.0",         "10.0.0.1-10.0.0.9",
                         "::1", "2001:db8::/32", "Storage EastUS", "a,b",
                         "*/8"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        if (model_nsg_addr_parse(bad[i], &a, &err))
            fail_msg("\"%s\" parsed", bad[i]);
        assert_int_equal(err->code, MODEL_NSG_ERROR_SYNTAX);
        g_error_free(err);
    }
    assert_false(model_nsg_addr_parse(NULL, &a, NULL));
    ModelNsgRule *r = model_nsg_rule_new("r", 100, IN, ALLOW, MODEL_NSG_PROTO_TCP);
    assert_false(model_nsg_rule_add_address(r, MODEL_NSG_SRC, "10.0.0.0/40", NULL));
    assert_false(model_nsg_rule_add_ports(r, MODEL_NSG_SRC, "80,", NULL));
    assert_int_equal(r->n_addrs[MODEL_NSG_SRC], 0);
    assert_int_equal(r->n_ports[MODEL_NSG_SRC], 0);
    model_nsg_rule_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(port_lists_parse_like_azure),
        cmocka_unit_test(enum_fields_parse_case_insensitively),
        cmocka_unit_test(address_items_parse_as_any_prefix_or_tag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
