/* Address and prefix parsing, as Azure accepts them in scenario files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "model/addr.h"

static void prefix_parse_accepts_cidr_and_bare_address(void **state)
{
    (void)state;
    ModelPrefix p;
    assert_int_equal(model_prefix_parse("10.0.0.0/16", false, &p), MODEL_PREFIX_OK);
    assert_int_equal(p.addr, MODEL_IP4(10, 0, 0, 0));
    assert_int_equal(p.len, 16);
    assert_int_equal(model_prefix_parse("168.63.129.16", false, &p), MODEL_PREFIX_OK);
    assert_int_equal(p.len, 32);
    assert_int_equal(model_prefix_parse("0.0.0.0/0", false, &p), MODEL_PREFIX_OK);
    assert_int_equal(p.len, 0);
}

static void prefix_parse_rejects_bad_input(void **state)
{
    (void)state;
    ModelPrefix p;
    assert_int_equal(model_prefix_parse("10.0.0/16", false, &p), MODEL_PREFIX_SYNTAX);
    assert_int_equal(model_prefix_parse("10.0.0.256/16", false, &p), MODEL_PREFIX_SYNTAX);
    assert_int_equal(model_prefix_parse("10.0.0.01", false, &p), MODEL_PREFIX_SYNTAX);
    assert_int_equal(model_prefix_parse("10.0.0.0/33", false, &p), MODEL_PREFIX_LENGTH);
    assert_int_equal(model_prefix_parse("10.0.0.0/", false, &p), MODEL_PREFIX_SYNTAX);
    assert_int_equal(model_prefix_parse(" 10.0.0.0/8", false, &p), MODEL_PREFIX_SYNTAX);
    assert_int_equal(model_prefix_parse("10.0.0.0/8x", false, &p), MODEL_PREFIX_SYNTAX);
    assert_int_equal(model_prefix_parse("", false, &p), MODEL_PREFIX_SYNTAX);
}

static void subnet_prefix_with_host_bits_is_rejected_nsg_prefix_is_normalised(void **state)
{
    (void)state;
    ModelPrefix p;
    assert_int_equal(model_prefix_parse("10.0.1.5/24", false, &p), MODEL_PREFIX_HOST_BITS);
    assert_int_equal(model_prefix_parse("10.0.1.5/24", true, &p), MODEL_PREFIX_OK);
    assert_int_equal(p.addr, MODEL_IP4(10, 0, 1, 0));
}

static void overlap_and_cover(void **state)
{
    (void)state;
    ModelPrefix a, b, c;
    model_prefix_parse("10.0.0.0/16", false, &a);
    model_prefix_parse("10.0.5.0/24", false, &b);
    model_prefix_parse("10.1.0.0/16", false, &c);
    assert_true(model_prefix_overlaps(a, b));
    assert_true(model_prefix_overlaps(b, a));
    assert_false(model_prefix_overlaps(a, c));
    assert_true(model_prefix_covers(a, b));
    assert_false(model_prefix_covers(b, a));
    char buf[MODEL_PREFIX_STRLEN];
    model_prefix_format(b, buf);
    assert_string_equal(buf, "10.0.5.0/24");
}

static void private_space_is_rfc1918_and_shared_address_space(void **state)
{
    (void)state;
    assert_true(model_ip_is_private(MODEL_IP4(10, 1, 2, 3)));
    assert_true(model_ip_is_private(MODEL_IP4(172, 31, 255, 255)));
    assert_false(model_ip_is_private(MODEL_IP4(172, 32, 0, 0)));
    assert_true(model_ip_is_private(MODEL_IP4(192, 168, 0, 53)));
    assert_true(model_ip_is_private(MODEL_IP4(100, 64, 0, 1)));
    assert_false(model_ip_is_private(MODEL_IP4(20, 60, 1, 4)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prefix_parse_accepts_cidr_and_bare_address),
        cmocka_unit_test(prefix_parse_rejects_bad_input),
        cmocka_unit_test(subnet_prefix_with_host_bits_is_rejected_nsg_prefix_is_normalised),
        cmocka_unit_test(overlap_and_cover),
        cmocka_unit_test(private_space_is_rfc1918_and_shared_address_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
