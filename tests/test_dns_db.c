/*
 * The DNS db and Azure DNS resolution (model/dns.h), one test per documented behaviour.
 *
 * Sources (azdocs: is the MicrosoftDocs/azure-docs repository):
 *   "pe-dns"     azdocs:articles/private-link/private-endpoint-dns.md
 *   "aml-dns"    azdocs:articles/machine-learning/how-to-custom-dns.md
 *   "fallback"   azdocs:articles/dns/private-dns-fallback.md
 *   "links"      azdocs:articles/dns/private-dns-virtual-network-links.md
 *   "zone"       azdocs:articles/dns/private-dns-privatednszone.md
 *   "records"    azdocs:articles/dns/dns-private-records.md
 *   "facts"      /work/shared/docs/azure-facts.md §3
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "model/addr.h"
#include "model/dns.h"

/* ---------------------------------------------------------------------------------------
 * Helpers and the common scenario
 */

/* VNets are opaque keys to the db: any distinct addresses do. */
static const int vnet_ml, vnet_hub, vnet_spoke, vnet_other, vnet_fallback;

static const char *vnet_name(const void *vnet)
{
    if (vnet == &vnet_ml)
        return "vnet-ml";
    if (vnet == &vnet_hub)
        return "vnet-hub";
    if (vnet == &vnet_spoke)
        return "vnet-spoke";
    if (vnet == &vnet_fallback)
        return "vnet-fallback";
    return "vnet-other";
}

static uint32_t IP(const char *text)
{
    uint32_t ip = 0;
    assert_true(model_ip_parse(text, &ip));
    return ip;
}

#define STORE1      "mlwsstore.blob.core.windows.net"
#define STORE1_PL   "mlwsstore.privatelink.blob.core.windows.net"
#define STORE2      "mlwsstore2.blob.core.windows.net"
#define BLOB_ZONE   "privatelink.blob.core.windows.net"
#define STORE1_PUB  "20.60.1.10"
#define STORE2_PUB  "20.60.1.11"
#define STORE1_PE   "10.0.1.6"
#define STORE1_HOST "blob.bl5prdstr09a.store.core.windows.net"

/* Two storage accounts with private endpoints; privatelink.blob.core.windows.net is
 * linked to vnet-ml and holds only the first account's record (DNS integration wrote it). */
static int setup(void **state)
{
    ModelDnsDb *db = model_dns_db_new();
    model_dns_db_set_vnet_name_fn(db, vnet_name);
    GError *err = NULL;
    assert_true(model_dns_register_service(db, STORE1, IP(STORE1_PUB), NULL, true, &err));
    assert_true(model_dns_register_service(db, STORE2, IP(STORE2_PUB), NULL, true, &err));
    ModelDnsZone *z = model_dns_zone_add(db, BLOB_ZONE, &err);
    assert_non_null(z);
    assert_true(model_dns_zone_link(z, &vnet_ml, "ml-link", false, &err));
    assert_ptr_equal(model_dns_register_private_endpoint(db, STORE1, IP(STORE1_PE), &err), z);
    assert_null(err);
    *state = db;
    return 0;
}

static int teardown(void **state)
{
    model_dns_db_free(*state);
    return 0;
}

static void resolve(const ModelDnsDb *db, const void *vnet, const char *qname, uint16_t qtype,
                    ModelDnsResult *r)
{
    model_dns_resolve(db, vnet, qname, qtype, r);
    assert_non_null(r->detail);
    assert_non_null(r->decided_by);
}

static void assert_error(GError **err, ModelDnsErrorCode code)
{
    assert_non_null(*err);
    assert_true(g_error_matches(*err, MODEL_DNS_ERROR, (gint)code));
    assert_non_null((*err)->message);
    g_clear_error(err);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static void assert_pl(const char *fqdn, const char *guid, const char *pl, const char *zone)
{
    char *z = NULL;
    char *got = model_dns_privatelink_name_for_workspace(fqdn, guid, &z);
    if (!pl) {
        assert_null(got);
        assert_null(z);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, pl);
    assert_string_equal(z, zone);
    g_free(got);
    g_free(z);
}

/* ---------------------------------------------------------------------------------------
 * Private endpoints and private zones (facts §3; storage-private-endpoints.md)
 */

/* facts: "from outside, acct.blob.core.windows.net CNAME acct.privatelink.blob.core.windows.
 * net CNAME <public endpoint host> A <public IP>". */
static void test_internet_resolves_storage_with_private_endpoint_to_public_ip(void **state)
{
    ModelDnsResult r = {0};
    resolve(*state, NULL, STORE1, PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, 3);
    assert_int_equal(r.answers[0].type, PCAP_DNS_CNAME);
    assert_string_equal(r.answers[0].name, STORE1);
    assert_string_equal(r.answers[0].target, STORE1_PL);
    assert_string_equal(r.answers[1].name, STORE1_PL);
    assert_string_equal(r.answers[1].target, STORE1_HOST);
    assert_int_equal(r.answers[2].type, PCAP_DNS_A);
    assert_string_equal(r.answers[2].name, STORE1_HOST);
    assert_string_equal(r.answers[2].from, "public");
    assert_int_equal(r.address, IP(STORE1_PUB));
    assert_false(r.private_answer);
    assert_string_equal(r.decided_by, "public DNS");
    model_dns_result_clear(&r);
}

/* facts: "inside a VNet linked to the private zone, acct.blob.core.windows.net CNAME acct.
 * privatelink.blob.core.windows.net A 10.x.y.z". The CNAME is public, the A private. */
static void test_linked_vnet_resolves_storage_to_private_ip_via_privatelink_cname(void **state)
{
    ModelDnsResult r = {0};
    resolve(*state, &vnet_ml, STORE1, PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, 2);
    assert_string_equal(r.answers[0].target, STORE1_PL);
    assert_string_equal(r.answers[0].from, "public");
    assert_string_equal(r.answers[1].name, STORE1_PL);
    assert_string_equal(r.answers[1].from, BLOB_ZONE);
    /* A private endpoint's DNS zone group writes its A record with TTL 10 (issue 77392). */
    assert_int_equal(r.answers[1].ttl, MODEL_DNS_TTL_PRIVATE_ENDPOINT);
    assert_int_equal(r.address, IP(STORE1_PE));
    assert_true(r.private_answer);
    assert_false(r.nxdomain_redirected);
    assert_string_equal(r.decided_by, BLOB_ZONE);
    assert_string_equal(r.detail, STORE1 " CNAME " STORE1_PL " A " STORE1_PE
                                         " (private zone " BLOB_ZONE " linked to vnet-ml)");
    model_dns_result_clear(&r);
    model_dns_result_clear(&r); /* twice is harmless */
}

/* zone: "DNS resolution against a private DNS zone works only from virtual networks that
 * are linked to it". */
static void test_unlinked_vnet_resolves_storage_to_public_ip(void **state)
{
    ModelDnsResult r = {0};
    resolve(*state, &vnet_other, STORE1, PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.address, IP(STORE1_PUB));
    assert_false(r.private_answer);
    model_dns_result_clear(&r);
}

/* facts: "Once a VNet's zone holds one account's record, other accounts with private
 * endpoints but no record in that zone fail to resolve (NXDOMAIN) from that VNet"; pe-dns:
 * "Private networks already using the private DNS zone for a given type, can only connect
 * to public resources if they don't have any private endpoint connections". */
static void test_linked_zone_without_the_record_answers_nxdomain(void **state)
{
    ModelDnsResult r = {0};
    resolve(*state, &vnet_ml, STORE2, PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NXDOMAIN);
    assert_int_equal(r.address, 0);
    /* The public CNAME that led there is kept (RFC 6604). */
    assert_int_equal(r.n_answers, 1);
    assert_string_equal(r.answers[0].target, "mlwsstore2.privatelink.blob.core.windows.net");
    assert_string_equal(r.decided_by, BLOB_ZONE);
    assert_contains(r.detail, "NXDOMAIN: " BLOB_ZONE " is linked to vnet-ml and has no record "
                              "for mlwsstore2 (resolution policy Default)");
    model_dns_result_clear(&r);
}

/* fallback: "the Azure recursive resolver retries the query ... each time an NXDOMAIN
 * response is received from PrivateEdge for that private zone scope", giving
 * "remoteprivateendpoint.blob… / remoteprivateendpoint.privatelink.blob… / blob.<stamp>.
 * store.core.windows.net / <public address>". */
static void test_nxdomain_redirect_link_falls_back_to_public_ip(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    ModelDnsZone *z = model_dns_zone_find(db, BLOB_ZONE);
    assert_true(model_dns_zone_link(z, &vnet_fallback, "fallback-link", true, &err));
    ModelDnsResult r = {0};
    resolve(db, &vnet_fallback, STORE2, PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, 3);
    assert_string_equal(r.answers[1].name, "mlwsstore2.privatelink.blob.core.windows.net");
    assert_string_equal(r.answers[1].from, "public");
    assert_int_equal(r.address, IP(STORE2_PUB));
    assert_false(r.private_answer);
    assert_true(r.nxdomain_redirected);
    assert_contains(r.detail, "resolution policy NxDomainRedirect");
    model_dns_result_clear(&r);
    /* A name the zone holds still resolves privately. */
    resolve(db, &vnet_fallback, STORE1, PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP(STORE1_PE));
    assert_true(r.private_answer);
    assert_false(r.nxdomain_redirected);
    model_dns_result_clear(&r);
}

/* fallback, "Demonstrate DNS resolution failure": two identically named zones in two
 * resource groups, one linked; the other account's privatelink name does not resolve
 * until the link enables fallback to internet. */
static void test_identically_named_zones_in_two_resource_groups(void **state)
{
    (void)state;
    ModelDnsDb *db = model_dns_db_new();
    GError *err = NULL;
    const char *acct1 = "myeaststorageacct1.blob.core.windows.net";
    const char *acct2 = "myeaststorageacct2.blob.core.windows.net";
    assert_true(model_dns_register_service(db, acct1, IP("203.0.113.160"), NULL, true, &err));
    assert_true(model_dns_register_service(db, acct2, IP("203.0.113.161"),
                                           "blob.bl5prdstr19c.store.core.windows.net", true, &err));
    ModelDnsZone *east = model_dns_zone_add_in(db, BLOB_ZONE, "myeastrg", &err);
    ModelDnsZone *west = model_dns_zone_add_in(db, BLOB_ZONE, "mywestrg", &err);
    assert_non_null(east);
    assert_non_null(west);
    assert_ptr_equal(model_dns_zone_find_in(db, BLOB_ZONE, "MyWestRG"), west);
    assert_ptr_equal(model_dns_zone_find(db, BLOB_ZONE), east);
    assert_string_equal(model_dns_zone_resource_group(west), "mywestrg");
    assert_true(model_dns_zone_add_a(east, "myeaststorageacct1", IP("10.40.40.5"), &err));
    assert_true(model_dns_zone_add_a(west, "myeaststorageacct2", IP("10.10.10.5"), &err));
    assert_true(model_dns_zone_link(east, &vnet_hub, "hub", false, &err));
    assert_true(model_dns_zone_link(east, &vnet_fallback, "hub-fallback", true, &err));
    assert_null(err);

    ModelDnsResult r = {0};
    resolve(db, &vnet_hub, "myeaststorageacct1.privatelink.blob.core.windows.net", PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP("10.40.40.5"));
    model_dns_result_clear(&r);
    resolve(db, &vnet_hub, "myeaststorageacct2.privatelink.blob.core.windows.net", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NXDOMAIN);
    model_dns_result_clear(&r);
    /* "dig myeaststorageacct2.privatelink.blob.core.windows.net +short" after fallback:
     * "blob.bl5prdstr19c.store.core.windows.net. 203.0.113.161". */
    resolve(db, &vnet_fallback, "myeaststorageacct2.privatelink.blob.core.windows.net", PCAP_DNS_A,
            &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, 2);
    assert_string_equal(r.answers[0].target, "blob.bl5prdstr19c.store.core.windows.net");
    assert_int_equal(r.address, IP("203.0.113.161"));
    model_dns_result_clear(&r);
    model_dns_db_free(db);
}

/* pe-dns: "link the same private DNS zones to all spokes and hub virtual networks that
 * contain clients that need DNS resolution from the zones" — a spoke left out resolves
 * publicly. */
static void test_zone_linked_to_hub_only_leaves_spoke_public(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    ModelDnsZone *z = model_dns_zone_add_in(db, BLOB_ZONE, "rg-hub", &err);
    assert_non_null(z);
    assert_true(model_dns_zone_add_a(z, "mlwsstore2", IP("10.100.0.7"), &err));
    assert_true(model_dns_zone_link(z, &vnet_hub, "hub-link", false, &err));
    ModelDnsResult r = {0};
    resolve(db, &vnet_hub, STORE2, PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP("10.100.0.7"));
    assert_true(r.private_answer);
    model_dns_result_clear(&r);
    resolve(db, &vnet_spoke, STORE2, PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP(STORE2_PUB));
    assert_false(r.private_answer);
    assert_string_equal(r.decided_by, "public DNS");
    model_dns_result_clear(&r);
}

/* aml-dns: "records listed in Private DNS Zones are only returned to devices resolving
 * domains using the default Azure DNS Virtual Server IP address" — a resolver on the
 * internet never sees them, linked or not. */
static void test_public_resolver_never_consults_private_zones(void **state)
{
    ModelDnsResult r = {0};
    resolve(*state, NULL, STORE1_PL, PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP(STORE1_PUB));
    assert_false(r.private_answer);
    model_dns_result_clear(&r);
}

/* aml-dns: "A Private DNS Zone overrides name resolution for all names within the scope of
 * the root of the zone"; the most specific linked zone decides, and a shorter zone's
 * records below it are not consulted. */
static void test_longest_linked_zone_wins(void **state)
{
    (void)state;
    ModelDnsDb *db = model_dns_db_new();
    GError *err = NULL;
    ModelDnsZone *outer = model_dns_zone_add(db, "contoso.com", &err);
    ModelDnsZone *inner = model_dns_zone_add(db, "internal.contoso.com", &err);
    ModelDnsZone *unlinked = model_dns_zone_add(db, "app.internal.contoso.com", &err);
    assert_true(model_dns_zone_add_a(outer, "app.internal", IP("10.1.1.1"), &err));
    assert_true(model_dns_zone_add_a(outer, "db.internal", IP("10.1.1.2"), &err));
    assert_true(model_dns_zone_add_a(inner, "app", IP("10.2.2.2"), &err));
    assert_true(model_dns_zone_add_a(unlinked, "@", IP("10.3.3.3"), &err));
    assert_true(model_dns_zone_link(outer, &vnet_ml, "l1", false, &err));
    assert_true(model_dns_zone_link(inner, &vnet_ml, "l2", false, &err));
    assert_null(err);
    ModelDnsResult r = {0};
    resolve(db, &vnet_ml, "app.internal.contoso.com", PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP("10.2.2.2"));
    assert_string_equal(r.decided_by, "internal.contoso.com");
    model_dns_result_clear(&r);
    resolve(db, &vnet_ml, "db.internal.contoso.com", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NXDOMAIN);
    assert_string_equal(r.decided_by, "internal.contoso.com");
    model_dns_result_clear(&r);
    model_dns_db_free(db);
}

/* pe-dns: "It's not recommended to override a zone that's actively in use to resolve public
 * endpoints. Connections to resources won't be able to resolve correctly". */
static void test_private_zone_named_like_a_public_zone_hides_public_names(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    ModelDnsZone *z = model_dns_zone_add(db, "blob.core.windows.net", &err);
    assert_true(model_dns_zone_link(z, &vnet_spoke, "oops", false, &err));
    ModelDnsResult r = {0};
    resolve(db, &vnet_spoke, STORE1, PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NXDOMAIN);
    assert_int_equal(r.n_answers, 0);
    assert_string_equal(r.decided_by, "blob.core.windows.net");
    model_dns_result_clear(&r);
}

/* Zone suffixes match whole labels: "ablob.core.windows.net" is not in blob.core.windows.
 * net, so a private zone of that name does not capture it. */
static void test_zone_suffix_match_is_label_aligned(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    assert_true(model_dns_name_within("a.blob.core.windows.net", "blob.core.windows.net"));
    assert_true(model_dns_name_within("blob.core.windows.net", "blob.core.windows.net"));
    assert_true(model_dns_name_within("A.Blob.Core.Windows.Net", "blob.core.windows.net"));
    assert_false(model_dns_name_within("ablob.core.windows.net", "blob.core.windows.net"));
    assert_false(model_dns_name_within("core.windows.net", "blob.core.windows.net"));
    assert_true(model_dns_name_within("anything", ""));
    ModelDnsZone *z = model_dns_zone_add(db, "blob.core.windows.net", &err);
    assert_true(model_dns_zone_link(z, &vnet_spoke, "l", false, &err));
    assert_true(model_dns_public_add_a(db, "ablob.core.windows.net", IP("20.1.2.3"), &err));
    ModelDnsResult r = {0};
    resolve(db, &vnet_spoke, "ablob.core.windows.net", PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP("20.1.2.3"));
    assert_string_equal(r.decided_by, "public DNS");
    model_dns_result_clear(&r);
}

/* ---------------------------------------------------------------------------------------
 * Chains, loops, case, names
 */

/* A CNAME loop cannot be answered: SERVFAIL, no answers, the loop named in the trace. */
static void test_cname_loop_is_servfail(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    assert_true(model_dns_public_add_cname(db, "a.example.com", "b.example.com", &err));
    assert_true(model_dns_public_add_cname(db, "b.example.com", "a.example.com", &err));
    ModelDnsResult r = {0};
    resolve(db, NULL, "a.example.com", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_SERVFAIL);
    assert_int_equal(r.n_answers, 0);
    assert_null(r.answers);
    assert_contains(r.detail, "CNAME loop");
    model_dns_result_clear(&r);
}

/* Builds n0 CNAME n1 … CNAME n<len> A 10.9.9.9 in the public view. */
static void add_chain(ModelDnsDb *db, const char *prefix, int len)
{
    GError *err = NULL;
    for (int i = 0; i < len; i++) {
        g_autofree char *from = g_strdup_printf("%s%d.example.com", prefix, i);
        g_autofree char *to = g_strdup_printf("%s%d.example.com", prefix, i + 1);
        assert_true(model_dns_public_add_cname(db, from, to, &err));
    }
    g_autofree char *last = g_strdup_printf("%s%d.example.com", prefix, len);
    assert_true(model_dns_public_add_a(db, last, IP("10.9.9.9"), &err));
}

static void test_chain_of_16_cnames_resolves(void **state)
{
    add_chain(*state, "c", MODEL_DNS_MAX_CNAMES);
    ModelDnsResult r = {0};
    resolve(*state, NULL, "c0.example.com", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, MODEL_DNS_MAX_CNAMES + 1);
    assert_int_equal(r.address, IP("10.9.9.9"));
    model_dns_result_clear(&r);
}

static void test_chain_of_17_cnames_is_servfail(void **state)
{
    add_chain(*state, "c", MODEL_DNS_MAX_CNAMES + 1);
    ModelDnsResult r = {0};
    resolve(*state, NULL, "c0.example.com", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_SERVFAIL);
    assert_int_equal(r.n_answers, 0);
    assert_contains(r.detail, "more than 16 CNAMEs");
    model_dns_result_clear(&r);
}

/* DNS names compare case-insensitively (RFC 4343); a trailing dot is the root label. */
static void test_names_are_case_insensitive_and_trailing_dot_is_dropped(void **state)
{
    ModelDnsDb *db = *state;
    ModelDnsResult r = {0};
    resolve(db, &vnet_ml, "MLWSStore.Blob.Core.Windows.NET.", PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP(STORE1_PE));
    assert_string_equal(r.answers[0].name, STORE1);
    model_dns_result_clear(&r);
    assert_non_null(model_dns_zone_find(db, "PrivateLink.Blob.Core.Windows.Net."));
    g_autofree char *n = model_dns_name_normalize("Foo.Example.COM.", NULL);
    assert_string_equal(n, "foo.example.com");
}

static void test_invalid_names_are_rejected(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    char label64[65];
    memset(label64, 'a', 64);
    label64[64] = 0;
    g_autofree char *long_label = g_strdup_printf("%s.example.com", label64);
    GString *too_long = g_string_new(NULL);
    while (too_long->len < 254)
        g_string_append(too_long, "abcdefghi.");
    g_string_append(too_long, "com");
    const char *bad[] = {"",         ".",     "a..b",  ".a",       "bad name.com",
                         "bad!.com", "a.*.b", "*.com", long_label, too_long->str};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        char *n = model_dns_name_normalize(bad[i], &err);
        if (n)
            fail_msg("'%s' was accepted", bad[i]);
        assert_error(&err, MODEL_DNS_ERROR_NAME);
    }
    assert_null(model_dns_name_normalize(NULL, &err));
    assert_error(&err, MODEL_DNS_ERROR_NAME);
    g_string_free(too_long, TRUE);
    /* Underscores and hyphens are fine (_dmarc, xn--), as is a 63-character label. */
    label64[63] = 0;
    g_autofree char *ok63 = g_strdup_printf("%s.example.com", label64);
    const char *good[] = {"_dmarc.example.com", "xn--bcher-kva.example", ok63};
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autofree char *n = model_dns_name_normalize(good[i], &err);
        assert_non_null(n);
    }
    /* Wildcards only as a record's leftmost label. */
    assert_true(model_dns_public_add_a(db, "*.wild.example.com", IP("10.0.0.1"), &err));
    assert_false(model_dns_public_add_a(db, "a.*.example.com", IP("10.0.0.1"), &err));
    assert_error(&err, MODEL_DNS_ERROR_NAME);
    assert_false(model_dns_public_add_cname(db, "x.example.com", "*.example.com", &err));
    assert_error(&err, MODEL_DNS_ERROR_NAME);
    /* zone: "Single labeled private DNS zones are not supported ... A private DNS zone can
     * have a maximum 34 labels". */
    assert_null(model_dns_zone_add(db, "local", &err));
    assert_error(&err, MODEL_DNS_ERROR_NAME);
    GString *deep = g_string_new(NULL);
    for (int i = 0; i < 34; i++)
        g_string_append(deep, "a.");
    g_string_append(deep, "com"); /* 35 labels */
    assert_null(model_dns_zone_add(db, deep->str, &err));
    assert_error(&err, MODEL_DNS_ERROR_NAME);
    g_string_erase(deep, 0, 2); /* 34 labels */
    assert_non_null(model_dns_zone_add(db, deep->str, &err));
    g_string_free(deep, TRUE);
    assert_null(model_dns_zone_add(db, "*.example.com", &err));
    assert_error(&err, MODEL_DNS_ERROR_NAME);
}

/* An invalid query name exists in no zone: NXDOMAIN, not a crash. */
static void test_invalid_query_name_is_nxdomain(void **state)
{
    ModelDnsResult r = {0};
    resolve(*state, &vnet_ml, "bad..name", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NXDOMAIN);
    model_dns_result_clear(&r);
    resolve(*state, NULL, NULL, PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NXDOMAIN);
    model_dns_result_clear(&r);
}

/* ---------------------------------------------------------------------------------------
 * Zones, records, links
 */

/* links: "You can create only one link between a private DNS zone and a virtual network";
 * "Each virtual network link under a private DNS zone must have unique name"; private-link-
 * faq: "creating multiple zones with the same name for a single virtual network is not
 * supported" ("A virtual network cannot be linked to multiple zones with overlapping
 * namespaces"). */
static void test_vnet_links_to_only_one_zone_of_a_name(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    ModelDnsZone *first = model_dns_zone_find(db, BLOB_ZONE);
    ModelDnsZone *second = model_dns_zone_add_in(db, BLOB_ZONE, "rg-spoke", &err);
    assert_non_null(second);
    assert_false(model_dns_zone_link(second, &vnet_ml, "spoke-link", false, &err));
    assert_error(&err, MODEL_DNS_ERROR_LINK);
    assert_false(model_dns_zone_link(first, &vnet_ml, "again", false, &err));
    assert_error(&err, MODEL_DNS_ERROR_LINK);
    assert_false(model_dns_zone_link(first, &vnet_spoke, "ML-LINK", false, &err));
    assert_error(&err, MODEL_DNS_ERROR_DUPLICATE);
    assert_false(model_dns_zone_link(first, NULL, "x", false, &err));
    assert_error(&err, MODEL_DNS_ERROR_LINK);
    /* The second zone may serve another VNet; a VNet may link zones of different names. */
    assert_true(model_dns_zone_link(second, &vnet_spoke, "spoke-link", false, &err));
    ModelDnsZone *file = model_dns_zone_add(db, "privatelink.file.core.windows.net", &err);
    assert_true(model_dns_zone_link(file, &vnet_ml, "ml-link", false, &err));
    assert_null(err);
    /* A zone name exists once per resource group. */
    assert_null(model_dns_zone_add(db, BLOB_ZONE, &err));
    assert_error(&err, MODEL_DNS_ERROR_DUPLICATE);
    assert_null(model_dns_zone_add_in(db, BLOB_ZONE, "RG-SPOKE", &err));
    assert_error(&err, MODEL_DNS_ERROR_DUPLICATE);
}

/* fallback: "This policy is only available for Private DNS zones associated to Private Link
 * resources". */
static void test_nxdomain_redirect_is_only_for_private_link_zones(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    ModelDnsZone *z = model_dns_zone_add(db, "corp.contoso.com", &err);
    assert_false(model_dns_zone_link(z, &vnet_ml, "l", true, &err));
    assert_error(&err, MODEL_DNS_ERROR_LINK);
    assert_true(model_dns_zone_link(z, &vnet_ml, "l", false, &err));
    ModelDnsZone *acr = model_dns_zone_add(db, "eastus.data.privatelink.azurecr.io", &err);
    assert_true(model_dns_zone_link(acr, &vnet_ml, "l", true, &err));
    assert_null(err);
}

/* PrivateDnsResolutionPolicy: "Only applicable ... for A,AAAA,CNAME queries". */
static void test_nxdomain_redirect_applies_only_to_address_queries(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    assert_true(
        model_dns_zone_link(model_dns_zone_find(db, BLOB_ZONE), &vnet_fallback, "fb", true, &err));
    ModelDnsResult r = {0};
    resolve(db, &vnet_fallback, "mlwsstore2.privatelink.blob.core.windows.net", 16 /* TXT */, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NXDOMAIN);
    assert_false(r.nxdomain_redirected);
    model_dns_result_clear(&r);
    resolve(db, &vnet_fallback, "mlwsstore2.privatelink.blob.core.windows.net", PCAP_DNS_AAAA, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR); /* redirected, then NODATA publicly */
    assert_true(r.nxdomain_redirected);
    assert_int_equal(r.address, 0);
    model_dns_result_clear(&r);
}

/* records: "Records are specified by using relative names ... '@' is used to represent
 * apex records". */
static void test_zone_record_names_are_relative_or_absolute(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    ModelDnsZone *z = model_dns_zone_add(db, "privatelink.vaultcore.azure.net", &err);
    assert_true(model_dns_zone_link(z, &vnet_ml, "l", false, &err));
    assert_true(model_dns_zone_add_a(z, "kv1", IP("10.0.2.1"), &err));
    assert_true(
        model_dns_zone_add_a(z, "kv2.privatelink.vaultcore.azure.net", IP("10.0.2.2"), &err));
    assert_true(
        model_dns_zone_add_a(z, "kv3.privatelink.vaultcore.azure.net.", IP("10.0.2.3"), &err));
    assert_true(model_dns_zone_add_a(z, "@", IP("10.0.2.4"), &err));
    assert_null(err);
    assert_false(model_dns_zone_add_a(z, "kv.vault.azure.net.", IP("10.0.2.5"), &err));
    assert_error(&err, MODEL_DNS_ERROR_OUTSIDE_ZONE);
    assert_false(model_dns_zone_add_a(z, NULL, IP("10.0.2.5"), &err));
    assert_error(&err, MODEL_DNS_ERROR_NAME);
    const struct {
        const char *q;
        const char *ip;
    } want[] = {{"kv1.privatelink.vaultcore.azure.net", "10.0.2.1"},
                {"kv2.privatelink.vaultcore.azure.net", "10.0.2.2"},
                {"kv3.privatelink.vaultcore.azure.net", "10.0.2.3"},
                {"privatelink.vaultcore.azure.net", "10.0.2.4"}};
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        ModelDnsResult r = {0};
        resolve(db, &vnet_ml, want[i].q, PCAP_DNS_A, &r);
        assert_int_equal(r.address, IP(want[i].ip));
        assert_int_equal(r.answers[0].ttl, MODEL_DNS_TTL_DEFAULT);
        model_dns_result_clear(&r);
    }
    /* A relative name that merely looks absolute is relative, as in Azure. */
    assert_true(model_dns_zone_add_a(z, "kv.vault.azure.net", IP("10.0.2.6"), &err));
    ModelDnsResult r = {0};
    resolve(db, &vnet_ml, "kv.vault.azure.net.privatelink.vaultcore.azure.net", PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP("10.0.2.6"));
    model_dns_result_clear(&r);
}

/* records: "CNAME record sets can't coexist with other record sets with the same name";
 * "you can't create a CNAME record set at the zone apex"; CNAME sets "can only contain a
 * single record"; an A record set holds several addresses. */
static void test_cname_cannot_coexist_with_other_records(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    assert_true(model_dns_public_add_a(db, "www.example.com", IP("20.0.0.1"), &err));
    assert_true(model_dns_public_add_a(db, "www.example.com", IP("20.0.0.2"), &err));
    assert_true(model_dns_public_add_a(db, "www.example.com", IP("20.0.0.1"), &err));
    assert_false(model_dns_public_add_cname(db, "www.example.com", "x.example.com", &err));
    assert_error(&err, MODEL_DNS_ERROR_CONFLICT);
    assert_true(model_dns_public_add_cname(db, "alias.example.com", "www.example.com", &err));
    assert_true(model_dns_public_add_cname(db, "alias.example.com", "WWW.example.com.", &err));
    assert_false(model_dns_public_add_cname(db, "alias.example.com", "y.example.com", &err));
    assert_error(&err, MODEL_DNS_ERROR_CONFLICT);
    assert_false(model_dns_public_add_a(db, "alias.example.com", IP("20.0.0.3"), &err));
    assert_error(&err, MODEL_DNS_ERROR_CONFLICT);
    ModelDnsZone *z = model_dns_zone_find(db, BLOB_ZONE);
    assert_false(model_dns_zone_add_cname(z, "@", "elsewhere.example.com", &err));
    assert_error(&err, MODEL_DNS_ERROR_CONFLICT);
    assert_false(model_dns_zone_add_cname(z, "mlwsstore", "elsewhere.example.com", &err));
    assert_error(&err, MODEL_DNS_ERROR_CONFLICT);

    ModelDnsResult r = {0};
    resolve(db, NULL, "alias.example.com", PCAP_DNS_A, &r);
    assert_int_equal(r.n_answers, 3); /* CNAME, A, A: the whole record set */
    assert_int_equal(r.address, IP("20.0.0.1"));
    assert_int_equal(r.answers[2].a, IP("20.0.0.2"));
    model_dns_result_clear(&r);
}

/* records: "Wildcard records get returned in response to any query with a matching name,
 * unless there's a closer match from a nonwildcard record set" (RFC 4592). */
static void test_wildcard_records_answer_names_that_do_not_exist(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    ModelDnsZone *z = model_dns_zone_add(db, "corp.contoso.com", &err);
    assert_true(model_dns_zone_link(z, &vnet_ml, "l", false, &err));
    assert_true(model_dns_zone_add_a(z, "*.apps", IP("10.5.0.1"), &err));
    assert_true(model_dns_zone_add_a(z, "special.apps", IP("10.5.0.2"), &err));
    assert_true(model_dns_zone_add_a(z, "x.deep.apps", IP("10.5.0.3"), &err));
    ModelDnsResult r = {0};
    resolve(db, &vnet_ml, "anything.apps.corp.contoso.com", PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP("10.5.0.1"));
    assert_string_equal(r.answers[0].name, "anything.apps.corp.contoso.com");
    assert_contains(r.detail, "wildcard");
    model_dns_result_clear(&r);
    resolve(db, &vnet_ml, "special.apps.corp.contoso.com", PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP("10.5.0.2"));
    model_dns_result_clear(&r);
    /* "deep.apps" exists (it has a child), so the wildcard does not apply to it. */
    resolve(db, &vnet_ml, "deep.apps.corp.contoso.com", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, 0);
    model_dns_result_clear(&r);
    /* Below "deep.apps" the closest encloser has no wildcard: NXDOMAIN. */
    resolve(db, &vnet_ml, "y.deep.apps.corp.contoso.com", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NXDOMAIN);
    model_dns_result_clear(&r);
}

/* A name that exists without the asked type is NOERROR with no data: the AAAA query every
 * dual-stack client sends, an empty non-terminal, the zone apex. */
static void test_existing_name_without_the_type_is_nodata(void **state)
{
    ModelDnsDb *db = *state;
    ModelDnsResult r = {0};
    resolve(db, &vnet_ml, STORE1, PCAP_DNS_AAAA, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, 1); /* the CNAME */
    assert_int_equal(r.address, 0);
    assert_contains(r.detail, "NODATA: " STORE1_PL " has no AAAA record");
    model_dns_result_clear(&r);
    resolve(db, &vnet_ml, BLOB_ZONE, PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, 0);
    model_dns_result_clear(&r);
    resolve(db, NULL, "core.windows.net", PCAP_DNS_A, &r); /* empty non-terminal */
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, 0);
    model_dns_result_clear(&r);
}

/* A CNAME query is answered with the CNAME itself, not followed (RFC 1034 3.6.2). */
static void test_cname_query_returns_the_cname_unfollowed(void **state)
{
    ModelDnsResult r = {0};
    resolve(*state, &vnet_ml, STORE1, PCAP_DNS_CNAME, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, 1);
    assert_string_equal(r.answers[0].target, STORE1_PL);
    model_dns_result_clear(&r);
}

/* An authoritative server answers from its zone alone: in-zone CNAMEs followed, others
 * left to the client, names outside the zone refused. */
static void test_zone_answer_is_authoritative_for_its_zone_only(void **state)
{
    (void)state;
    ModelDnsDb *own = model_dns_db_new();
    GError *err = NULL;
    ModelDnsZone *z = model_dns_zone_add(own, "corp.contoso.com", &err);
    assert_true(model_dns_zone_add_a(z, "app", IP("10.7.0.1"), &err));
    assert_true(model_dns_zone_add_cname(z, "www", "app.corp.contoso.com", &err));
    assert_true(model_dns_zone_add_cname(z, "store", STORE1, &err));
    ModelDnsResult r = {0};
    model_dns_zone_answer(z, "www.corp.contoso.com", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, 2);
    assert_int_equal(r.address, IP("10.7.0.1"));
    assert_string_equal(r.decided_by, "corp.contoso.com");
    model_dns_result_clear(&r);
    model_dns_zone_answer(z, "store.corp.contoso.com", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, 1);
    assert_int_equal(r.address, 0);
    model_dns_result_clear(&r);
    model_dns_zone_answer(z, "nope.corp.contoso.com", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NXDOMAIN);
    model_dns_result_clear(&r);
    model_dns_zone_answer(z, "www.example.com", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_REFUSED);
    model_dns_result_clear(&r);
    model_dns_db_free(own);
}

/* ---------------------------------------------------------------------------------------
 * The PaaS table and registration
 */

/* pe-dns zone table; aml-dns "workspace Private Link FQDNs"; facts §3. */
static void test_privatelink_names_for_every_table_row(void **state)
{
    (void)state;
    const char *guid = "fb7e20a0-8891-458b-b969-55ddb3382f51";
    static const char *const subs[] = {"blob", "file", "queue", "table", "dfs", "web"};
    for (size_t i = 0; i < G_N_ELEMENTS(subs); i++) {
        g_autofree char *pub = g_strdup_printf("acct.%s.core.windows.net", subs[i]);
        g_autofree char *pl = g_strdup_printf("acct.privatelink.%s.core.windows.net", subs[i]);
        g_autofree char *zone = g_strdup_printf("privatelink.%s.core.windows.net", subs[i]);
        assert_pl(pub, NULL, pl, zone);
    }
    assert_pl("kv.vault.azure.net", NULL, "kv.privatelink.vaultcore.azure.net",
              "privatelink.vaultcore.azure.net");
    assert_pl("kv.vaultcore.azure.net", NULL, "kv.privatelink.vaultcore.azure.net",
              "privatelink.vaultcore.azure.net");
    assert_pl("reg.azurecr.io", NULL, "reg.privatelink.azurecr.io", "privatelink.azurecr.io");
    assert_pl("reg.eastus.data.azurecr.io", NULL, "reg.eastus.data.privatelink.azurecr.io",
              "eastus.data.privatelink.azurecr.io");
    assert_pl("fb7e20a0-8891-458b-b969-55ddb3382f51.workspace.eastus.api.azureml.ms", NULL,
              "fb7e20a0-8891-458b-b969-55ddb3382f51.workspace.eastus.privatelink.api.azureml.ms",
              "privatelink.api.azureml.ms");
    assert_pl("fb7e20a0-8891-458b-b969-55ddb3382f51.workspace.eastus.cert.api.azureml.ms", NULL,
              "fb7e20a0-8891-458b-b969-55ddb3382f51.workspace.eastus.cert.privatelink.api."
              "azureml.ms",
              "privatelink.api.azureml.ms");
    assert_pl("ml-myworkspace-eastus-fb7e20a0-8891-458b-b969-55ddb3382f51.eastus.notebooks."
              "azure.net",
              NULL,
              "ml-myworkspace-eastus-fb7e20a0-8891-458b-b969-55ddb3382f51.eastus.privatelink."
              "notebooks.azure.net",
              "privatelink.notebooks.azure.net");
    /* Inference and compute instance names need the workspace GUID. */
    assert_pl("myendpoint.eastus.inference.ml.azure.com", NULL, NULL, NULL);
    assert_pl("myendpoint.eastus.inference.ml.azure.com", guid,
              "myendpoint.fb7e20a0-8891-458b-b969-55ddb3382f51.inference.eastus.privatelink.api."
              "azureml.ms",
              "privatelink.api.azureml.ms");
    assert_pl("mycomputeinstance.eastus.instances.azureml.ms", NULL, NULL, NULL);
    assert_pl("mycomputeinstance.eastus.instances.azureml.ms", guid,
              "fb7e20a0-8891-458b-b969-55ddb3382f51.workspace.eastus.privatelink.api.azureml.ms",
              "privatelink.api.azureml.ms");
    assert_pl("mycomputeinstance-22.eastus.instances.azureml.ms", guid,
              "fb7e20a0-8891-458b-b969-55ddb3382f51.workspace.eastus.privatelink.api.azureml.ms",
              "privatelink.api.azureml.ms");
    /* Names already in private link form map to themselves, with their zone. */
    assert_pl(STORE1_PL, NULL, STORE1_PL, BLOB_ZONE);
    assert_pl("reg.westus.data.privatelink.azurecr.io", NULL,
              "reg.westus.data.privatelink.azurecr.io", "westus.data.privatelink.azurecr.io");
    /* Case and trailing dot as anywhere else. */
    assert_pl("Acct.Blob.Core.Windows.Net.", NULL, "acct.privatelink.blob.core.windows.net",
              BLOB_ZONE);
    /* No private link zone: other names, wrong label counts, invalid names. */
    assert_pl("www.contoso.com", NULL, NULL, NULL);
    assert_pl("blob.core.windows.net", NULL, NULL, NULL);
    assert_pl("a.b.blob.core.windows.net", NULL, NULL, NULL);
    assert_pl("bad..name", NULL, NULL, NULL);
    assert_pl("myendpoint.eastus.inference.ml.azure.com", "not.a.label", NULL, NULL);
    g_autofree char *pl = model_dns_privatelink_name("kv.vault.azure.net", NULL);
    assert_string_equal(pl, "kv.privatelink.vaultcore.azure.net");
}

/* Auto-registration lands in the zone of the recommended name; with no such zone the
 * record goes nowhere and the name keeps resolving publicly (facts §3's classic
 * misconfiguration). */
static void test_private_endpoint_registration_lands_in_its_zone_or_nowhere(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    assert_true(
        model_dns_register_service(db, "kv.vault.azure.net", IP("20.40.0.1"), NULL, true, &err));
    assert_null(
        model_dns_register_private_endpoint(db, "kv.vault.azure.net", IP("10.0.3.4"), &err));
    assert_null(err);
    ModelDnsZone *kvz = model_dns_zone_add(db, "privatelink.vaultcore.azure.net", &err);
    assert_true(model_dns_zone_link(kvz, &vnet_ml, "ml-link", false, &err));
    ModelDnsResult r = {0};
    resolve(db, &vnet_ml, "kv.vault.azure.net", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NXDOMAIN); /* zone linked, record never written */
    model_dns_result_clear(&r);
    assert_ptr_equal(
        model_dns_register_private_endpoint(db, "kv.vault.azure.net", IP("10.0.3.4"), &err), kvz);
    resolve(db, &vnet_ml, "kv.vault.azure.net", PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP("10.0.3.4"));
    assert_true(r.private_answer);
    model_dns_result_clear(&r);

    /* ACR: the regional data zone when the db has it, else privatelink.azurecr.io. */
    ModelDnsZone *acr = model_dns_zone_add(db, "privatelink.azurecr.io", &err);
    assert_ptr_equal(
        model_dns_register_private_endpoint(db, "reg.eastus.data.azurecr.io", IP("10.0.4.5"), &err),
        acr);
    ModelDnsZone *data = model_dns_zone_add(db, "eastus.data.privatelink.azurecr.io", &err);
    assert_ptr_equal(
        model_dns_register_private_endpoint(db, "reg.eastus.data.azurecr.io", IP("10.0.4.6"), &err),
        data);
    assert_ptr_equal(
        model_dns_register_private_endpoint(db, "reg.azurecr.io", IP("10.0.4.7"), &err), acr);
    assert_null(err);

    /* Names with no private link zone, or needing the workspace GUID, are errors. */
    assert_null(model_dns_register_private_endpoint(db, "www.contoso.com", IP("10.0.0.9"), &err));
    assert_error(&err, MODEL_DNS_ERROR_NO_PRIVATE_LINK);
    assert_null(model_dns_register_private_endpoint(db, "ep.eastus.inference.ml.azure.com",
                                                    IP("10.0.0.9"), &err));
    assert_true(g_error_matches(err, MODEL_DNS_ERROR, MODEL_DNS_ERROR_NO_PRIVATE_LINK));
    assert_contains(err->message, "workspace GUID");
    g_clear_error(&err);
    assert_null(model_dns_register_private_endpoint(db, "bad..name", IP("10.0.0.9"), &err));
    assert_error(&err, MODEL_DNS_ERROR_NAME);
}

/* pe-dns: "Existing Private DNS Zones linked to a single Azure service should not be
 * associated with two different Azure service Private Endpoints. This will cause a
 * deletion of the initial A-record". */
static void test_second_private_endpoint_replaces_the_record(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    assert_non_null(model_dns_register_private_endpoint(db, STORE1, IP("10.50.0.4"), &err));
    ModelDnsResult r = {0};
    resolve(db, &vnet_ml, STORE1, PCAP_DNS_A, &r);
    assert_int_equal(r.n_answers, 2);
    assert_int_equal(r.address, IP("10.50.0.4"));
    model_dns_result_clear(&r);
}

/* aml-dns: the workspace FQDNs CNAME to their private link FQDNs; managed online endpoints
 * "share the workspace private endpoint" through the wildcard "*.<guid>.inference.<region>.
 * privatelink.api.azureml.ms"; a compute instance name resolves to "the private IP address
 * of the workspace private endpoint". */
static void test_workspace_names_resolve_to_the_workspace_endpoint(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    const char *guid = "fb7e20a0-8891-458b-b969-55ddb3382f51";
    const char *ws = "fb7e20a0-8891-458b-b969-55ddb3382f51.workspace.eastus.api.azureml.ms";
    const char *cert = "fb7e20a0-8891-458b-b969-55ddb3382f51.workspace.eastus.cert.api.azureml.ms";
    const char *nb = "ml-myworkspace-eastus-fb7e20a0-8891-458b-b969-55ddb3382f51.eastus."
                     "notebooks.azure.net";
    const char *ep = "mymanagedendpoint.eastus.inference.ml.azure.com";
    const char *ci = "mycomputeinstance.eastus.instances.azureml.ms";
    ModelDnsZone *api = model_dns_zone_add(db, "privatelink.api.azureml.ms", &err);
    ModelDnsZone *nbz = model_dns_zone_add(db, "privatelink.notebooks.azure.net", &err);
    assert_true(model_dns_zone_link(api, &vnet_ml, "ml-link", false, &err));
    assert_true(model_dns_zone_link(nbz, &vnet_ml, "ml-link", false, &err));
    const struct {
        const char *fqdn;
        const char *pe_ip;
        uint32_t pub;
    } names[] = {{ws, "10.1.0.5", IP("40.70.0.5")},
                 {cert, "10.1.0.5", IP("40.70.0.5")},
                 {nb, "10.1.0.6", IP("40.70.0.6")},
                 {ep, "10.1.0.7", IP("40.70.0.7")},
                 {ci, NULL, IP("40.70.0.5")}};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (!model_dns_register_workspace_service(db, names[i].fqdn, guid, names[i].pub, NULL, true,
                                                  &err))
            fail_msg("%s: %s", names[i].fqdn, err->message);
        if (names[i].pe_ip)
            assert_non_null(model_dns_register_workspace_private_endpoint(
                db, names[i].fqdn, guid, IP(names[i].pe_ip), &err));
    }
    assert_null(err);
    const struct {
        const char *fqdn;
        const char *ip;
    } want[] = {{ws, "10.1.0.5"},
                {cert, "10.1.0.5"},
                {nb, "10.1.0.6"},
                {ep, "10.1.0.7"},
                {"other.eastus.inference.ml.azure.com", NULL},
                {ci, "10.1.0.5"}};
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        ModelDnsResult r = {0};
        resolve(db, &vnet_ml, want[i].fqdn, PCAP_DNS_A, &r);
        if (want[i].ip) {
            if (r.address != IP(want[i].ip))
                fail_msg("%s: %s", want[i].fqdn, r.detail);
            assert_true(r.private_answer);
        } else {
            assert_int_equal(r.rcode, PCAP_DNS_NXDOMAIN); /* never registered publicly */
        }
        model_dns_result_clear(&r);
    }
    /* From the internet every name is public. */
    ModelDnsResult r = {0};
    resolve(db, NULL, ci, PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP("40.70.0.5"));
    assert_false(r.private_answer);
    model_dns_result_clear(&r);
    /* Without the GUID these names cannot be registered with a private endpoint. */
    assert_false(model_dns_register_service(db, ep, IP("40.70.0.7"), NULL, true, &err));
    assert_error(&err, MODEL_DNS_ERROR_NO_PRIVATE_LINK);
    assert_false(
        model_dns_register_workspace_service(db, ep, "a.b", IP("40.70.0.7"), NULL, true, &err));
    assert_error(&err, MODEL_DNS_ERROR_NAME);
}

/* Without a private endpoint Azure publishes fqdn CNAME front end A public address; no
 * private link name is involved, so linked VNets resolve it publicly too. */
static void test_service_without_private_endpoint_is_public_everywhere(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    assert_true(model_dns_register_service(db, "pubstore.blob.core.windows.net", IP("20.60.9.9"),
                                           NULL, false, &err));
    assert_true(
        model_dns_register_service(db, "www.contoso.com", IP("20.60.9.10"), NULL, false, &err));
    ModelDnsResult r = {0};
    resolve(db, &vnet_ml, "pubstore.blob.core.windows.net", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NOERROR);
    assert_int_equal(r.n_answers, 2);
    assert_int_equal(r.address, IP("20.60.9.9"));
    assert_false(r.private_answer);
    model_dns_result_clear(&r);
}

/* Registration is checked before anything is added; the same registration twice is a
 * no-op; the default front end differs per public address. */
static void test_service_registration_rules(void **state)
{
    ModelDnsDb *db = *state;
    GError *err = NULL;
    assert_true(model_dns_register_service(db, STORE1, IP(STORE1_PUB), NULL, true, &err));
    /* STORE2 got the next stamp, having another public address. */
    ModelDnsResult r = {0};
    resolve(db, NULL, STORE2, PCAP_DNS_A, &r);
    assert_string_equal(r.answers[1].target, "blob.bl5prdstr09b.store.core.windows.net");
    model_dns_result_clear(&r);
    /* A third account sharing STORE1's address shares its front end. */
    assert_true(model_dns_register_service(db, "third.blob.core.windows.net", IP(STORE1_PUB), NULL,
                                           true, &err));
    resolve(db, NULL, "third.blob.core.windows.net", PCAP_DNS_A, &r);
    assert_string_equal(r.answers[1].target, STORE1_HOST);
    model_dns_result_clear(&r);
    /* An explicit host that answers another address is refused, and nothing is added. */
    assert_false(model_dns_register_service(db, "fourth.blob.core.windows.net", IP("20.60.1.99"),
                                            STORE1_HOST, true, &err));
    assert_error(&err, MODEL_DNS_ERROR_CONFLICT);
    resolve(db, NULL, "fourth.blob.core.windows.net", PCAP_DNS_A, &r);
    assert_int_equal(r.rcode, PCAP_DNS_NXDOMAIN);
    model_dns_result_clear(&r);
    /* Registered with a private endpoint, then without: the private link CNAME stays. */
    assert_true(model_dns_register_service(db, STORE1, IP(STORE1_PUB), NULL, false, &err));
    resolve(db, &vnet_ml, STORE1, PCAP_DNS_A, &r);
    assert_int_equal(r.address, IP(STORE1_PE));
    model_dns_result_clear(&r);
    /* Registered without one, then with: a conflicting CNAME. */
    assert_true(model_dns_register_service(db, "pub.blob.core.windows.net", IP("20.60.2.2"), NULL,
                                           false, &err));
    assert_false(model_dns_register_service(db, "pub.blob.core.windows.net", IP("20.60.2.2"), NULL,
                                            true, &err));
    assert_error(&err, MODEL_DNS_ERROR_CONFLICT);
    /* Private endpoint on a name without a private link zone; a private link name itself. */
    assert_false(
        model_dns_register_service(db, "www.contoso.com", IP("20.0.0.1"), NULL, true, &err));
    assert_error(&err, MODEL_DNS_ERROR_NO_PRIVATE_LINK);
    assert_false(model_dns_register_service(db, STORE1_PL, IP(STORE1_PUB), NULL, true, &err));
    assert_error(&err, MODEL_DNS_ERROR_NAME);
    assert_false(model_dns_register_service(db, "bad..name", IP(STORE1_PUB), NULL, false, &err));
    assert_error(&err, MODEL_DNS_ERROR_NAME);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_internet_resolves_storage_with_private_endpoint_to_public_ip),
        T(test_linked_vnet_resolves_storage_to_private_ip_via_privatelink_cname),
        T(test_unlinked_vnet_resolves_storage_to_public_ip),
        T(test_linked_zone_without_the_record_answers_nxdomain),
        T(test_nxdomain_redirect_link_falls_back_to_public_ip),
        T(test_identically_named_zones_in_two_resource_groups),
        T(test_zone_linked_to_hub_only_leaves_spoke_public),
        T(test_public_resolver_never_consults_private_zones),
        T(test_longest_linked_zone_wins),
        T(test_private_zone_named_like_a_public_zone_hides_public_names),
        T(test_zone_suffix_match_is_label_aligned),
        T(test_cname_loop_is_servfail),
        T(test_chain_of_16_cnames_resolves),
        T(test_chain_of_17_cnames_is_servfail),
        T(test_names_are_case_insensitive_and_trailing_dot_is_dropped),
        T(test_invalid_names_are_rejected),
        T(test_invalid_query_name_is_nxdomain),
        T(test_vnet_links_to_only_one_zone_of_a_name),
        T(test_nxdomain_redirect_is_only_for_private_link_zones),
        T(test_nxdomain_redirect_applies_only_to_address_queries),
        T(test_zone_record_names_are_relative_or_absolute),
        T(test_cname_cannot_coexist_with_other_records),
        T(test_wildcard_records_answer_names_that_do_not_exist),
        T(test_existing_name_without_the_type_is_nodata),
        T(test_cname_query_returns_the_cname_unfollowed),
        T(test_zone_answer_is_authoritative_for_its_zone_only),
        T(test_privatelink_names_for_every_table_row),
        T(test_private_endpoint_registration_lands_in_its_zone_or_nowhere),
        T(test_second_private_endpoint_replaces_the_record),
        T(test_workspace_names_resolve_to_the_workspace_endpoint),
        T(test_service_without_private_endpoint_is_public_everywhere),
        T(test_service_registration_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
