/*
 * A fake ModelNsgResolver for the NSG tests: a fixed table of service tags and ASGs, in
 * place of the topology module. Shared by test_nsg.c and test_nsg_oracle.c, which declare
 * the three functions below themselves (tests/ has no headers of its own).
 *
 * The sets are small but shaped like the real ones: VirtualNetwork is the VNet's space,
 * Internet is everything outside 10.0.0.0/8 (public space minus the VNet, roughly),
 * AzureLoadBalancer and AzurePlatformDNS are 168.63.129.16, service tags are a few public
 * prefixes, ASGs are member NIC /32s.
 */
#include <glib.h>
#include <string.h>

#include "model/nsg.h"

typedef struct {
    ModelNsgAddrKind kind;
    const char *name;
    const char *prefixes[10];
} FakeEntry;

static const FakeEntry fake_table[] = {
    {MODEL_NSG_ADDR_TAG, "VirtualNetwork", {"10.0.0.0/16", "10.8.0.0/16"}},
    {MODEL_NSG_ADDR_TAG, "AzureLoadBalancer", {"168.63.129.16/32"}},
    {MODEL_NSG_ADDR_TAG, "AzurePlatformDNS", {"168.63.129.16/32"}},
    {MODEL_NSG_ADDR_TAG,
     "Internet",
     {"0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3",
      "64.0.0.0/2", "128.0.0.0/1"}},
    {MODEL_NSG_ADDR_TAG, "BatchNodeManagement", {"20.40.0.0/16", "52.1.2.0/24"}},
    {MODEL_NSG_ADDR_TAG, "Storage.EastUS", {"20.60.0.0/16", "52.239.0.0/17", "20.60.4.0/24"}},
    {MODEL_NSG_ADDR_TAG, "AzureMachineLearning", {"20.43.0.0/20", "40.78.0.0/19"}},
    {MODEL_NSG_ADDR_TAG, "Empty", {NULL}},
    {MODEL_NSG_ADDR_ASG, "asg-web", {"10.0.1.4/32", "10.0.1.5/32"}},
    {MODEL_NSG_ADDR_ASG, "asg-db", {"10.0.2.4/32"}},
};

int test_nsg_fake_calls; /* how many times the resolver ran (for the cache test) */

/* The prefixes of a tag or ASG, case-insensitive for tags as Azure's are. Returns false when
 * unknown. `out` is a new array the caller frees with g_free. */
bool test_nsg_fake_lookup(ModelNsgAddrKind kind, const char *name, ModelPrefix **out, size_t *n)
{
    for (size_t i = 0; i < G_N_ELEMENTS(fake_table); i++) {
        const FakeEntry *e = &fake_table[i];
        if (e->kind != kind || g_ascii_strcasecmp(e->name, name) != 0)
            continue;
        size_t k = 0;
        while (k < G_N_ELEMENTS(e->prefixes) && e->prefixes[k] != NULL)
            k++;
        *out = k ? g_new(ModelPrefix, k) : NULL;
        for (size_t j = 0; j < k; j++) {
            ModelPrefixStatus st = model_prefix_parse(e->prefixes[j], false, &(*out)[j]);
            g_assert(st == MODEL_PREFIX_OK);
        }
        *n = k;
        return true;
    }
    return false;
}

bool test_nsg_fake_resolve(void *ctx, const ModelNsgAddr *item, ModelPrefix **prefixes, size_t *n,
                           GError **error)
{
    (void)ctx;
    test_nsg_fake_calls++;
    if (test_nsg_fake_lookup(item->kind, item->text, prefixes, n))
        return true;
    g_set_error(error, g_quark_from_static_string("test-nsg-fake"), 1, "unknown %s \"%s\"",
                item->kind == MODEL_NSG_ADDR_ASG ? "application security group" : "service tag",
                item->text);
    return false;
}
