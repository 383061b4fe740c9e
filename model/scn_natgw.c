/*
 * scn_natgw.c — natGateways[] in scenario files, and the subnet key that names one
 * (vnets[].subnets[].natGateway): a subnet's internet egress SNATed to the gateway's
 * public addresses (model/natgw.c).
 *
 * The gateways load with the hosts, after them: a gateway without publicIpAddresses takes
 * a free address of AzureCloud.<region>, and an address a scenario writes down must never
 * find itself taken by such a default (the rule scn_compute.c follows for its nodes).
 * Subnets load earlier, so their natGateway keys are checked for form when read and
 * resolved once the gateways exist (scn_attach_nat_gateways).
 */
#include "model/net_internal.h"
#include "model/scn_internal.h"

#include <string.h>

/* A subnet's natGateway key, waiting for the gateways. `ref` is a scalar holding the
 * gateway's name (for the mapping form, a copy of its id node whose text is the id's
 * last path segment), borrowed from the tree. */
typedef struct {
    ModelSubnet *subnet;
    ScnNode ref;
} NatRef;

struct ScnNatgwLoad {
    ScnNames gateways;
    GArray *refs; /* NatRef, in file order */
};

static ScnNatgwLoad *state(ScnLoad *ld)
{
    if (!ld->natgw) {
        ld->natgw = g_new0(ScnNatgwLoad, 1);
        scn_names_init(&ld->natgw->gateways, "NAT gateway");
        ld->natgw->refs = g_array_new(FALSE, FALSE, sizeof(NatRef));
    }
    return ld->natgw;
}

void scn_natgw_clear(ScnLoad *ld)
{
    if (!ld->natgw)
        return;
    scn_names_clear(&ld->natgw->gateways);
    g_array_free(ld->natgw->refs, TRUE);
    g_free(ld->natgw);
    ld->natgw = NULL;
}

/* The last segment of an ARM id after `/<marker>/` (case ignored, as ARM does), borrowed
 * from `id`; NULL when the id does not end that way. */
static const char *id_last(const char *id, const char *marker)
{
    g_autofree char *lower = g_ascii_strdown(id, -1);
    g_autofree char *needle = g_ascii_strdown(marker, -1);
    const char *at = g_strrstr(lower, needle);
    const char *last = at ? id + (at - lower) + strlen(needle) : NULL;
    return last && *last && !strchr(last, '/') ? last : NULL;
}

static const ScnKey ref_keys[] = {
    SCN_F("id"),
    SCN_I("resourceGroup"),
};

bool scn_natgw_subnet_ref(ScnLoad *ld, ModelSubnet *subnet, const ScnNode *ref, GError **error)
{
    NatRef r = {.subnet = subnet};
    if (ref->kind == SCN_NODE_MAP) {
        /* az's subnet JSON: natGateway: {id: /subscriptions/…/natGateways/NAME}. */
        const ScnNode *id = NULL;
        if (!scn_check_keys(ref, "'natGateway'", ref_keys, G_N_ELEMENTS(ref_keys), error) ||
            !scn_req_node(ref, "id", "'natGateway'", &id, error) ||
            !scn_node_string(id, "id", &(const char *){NULL}, error))
            return false;
        const char *name = id_last(id->text, "/natGateways/");
        if (!name)
            return scn_fail(error, SCN_ERROR_VALUE, &id->mark,
                            "'id' \"%s\" does not end in /natGateways/NAME", id->text);
        r.ref = *id;
        r.ref.text = (char *)name;
    } else {
        const char *t = NULL;
        if (!scn_node_string(ref, "natGateway", &t, error))
            return false;
        r.ref = *ref;
    }
    g_array_append_val(state(ld)->refs, r);
    return true;
}

/* ---- natGateways[] ---- */

/* Ignored: sku (Standard is the only NAT gateway SKU), zones (zonal placement changes no
 * path), idleTimeoutInMinutes (no replayed connection idles for minutes). publicIpPrefixes
 * is read only to refuse it unless empty, as az prints it. */
static const ScnKey natgw_keys[] = {
    SCN_F("name"),
    SCN_F("publicIpAddresses"),
    SCN_F("subnets"),
    SCN_F("publicIpPrefixes"),
    SCN_AZ_BOOKKEEPING,
    SCN_I("location"),
    SCN_I("tags"),
    SCN_I("sku"),
    SCN_I("zones"),
    SCN_I("resourceGuid"),
    SCN_I("idleTimeoutInMinutes"),
};

#define NATGW_IPS_MAX 16 /* nat-overview.md: "up to 16 public IP addresses" */

static bool load_public_ips(ScnLoad *ld, const ScnNode *m, const char *name, uint32_t *ips,
                            size_t *n, GError **error)
{
    const ScnNode *list = NULL, *prefixes = scn_get(m, "publicIpPrefixes");
    if (prefixes && !(prefixes->kind == SCN_NODE_SEQ && prefixes->items->len == 0))
        return scn_fail(error, SCN_ERROR_UNSUPPORTED, &scn_get_key(m, "publicIpPrefixes")->mark,
                        "'publicIpPrefixes' is not supported yet: list the addresses in "
                        "'publicIpAddresses'");
    const ScnNode *given = scn_get(m, "publicIpAddresses");
    if (given && given->kind == SCN_NODE_SEQ && given->items->len == 0)
        return scn_fail(error, SCN_ERROR_VALUE, &given->mark,
                        "NAT gateway '%s' needs 1 to %d public IP addresses (leave "
                        "'publicIpAddresses' out for one of the region's)",
                        name, NATGW_IPS_MAX);
    if (!scn_opt_list(m, "publicIpAddresses", &list, error))
        return false;
    if (!list) {
        g_autofree char *cloud = g_strdup_printf("AzureCloud.%s", ld->scn->region);
        GError *cause = NULL;
        *n = 1;
        if (!model__service_tag_address(ld->net, cloud, &ips[0], &cause))
            return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &m->mark);
        return true;
    }
    if (list->items->len > NATGW_IPS_MAX)
        return scn_fail(error, SCN_ERROR_VALUE, &list->mark,
                        "NAT gateway '%s' has %u public IP addresses (Azure allows %d)", name,
                        list->items->len, NATGW_IPS_MAX);
    for (guint i = 0; i < list->items->len; i++) {
        const ScnNode *item = SCN_ITEM(list, i);
        if (item->kind == SCN_NODE_MAP)
            /* az prints the public IP resources by id: their addresses are elsewhere. */
            return scn_fail(error, SCN_ERROR_SCHEMA, &item->mark,
                            "'publicIpAddresses' lists IPv4 addresses, not public IP resources "
                            "(az network public-ip show --query ipAddress gives one's address)");
        if (!scn_node_ip(item, "publicIpAddresses", &ips[i], error))
            return false;
        for (guint k = 0; k < i; k++)
            if (ips[k] == ips[i])
                return scn_fail(error, SCN_ERROR_VALUE, &item->mark,
                                "NAT gateway '%s' lists %s twice", name, item->text);
    }
    *n = list->items->len;
    return true;
}

/* "VNET/SUBNET" from az's subnet id (…/virtualNetworks/VNET/subnets/SUBNET), g_free; NULL
 * when the id is not a subnet's. */
static char *subnet_path_of_id(const char *id)
{
    static const char marker[] = "/virtualnetworks/";
    g_autofree char *lower = g_ascii_strdown(id, -1);
    const char *at = g_strrstr(lower, marker);
    if (!at)
        return NULL;
    g_auto(GStrv) parts = g_strsplit(id + (at - lower) + sizeof marker - 1, "/", -1);
    if (g_strv_length(parts) != 3 || !*parts[0] || g_ascii_strcasecmp(parts[1], "subnets") != 0 ||
        !*parts[2])
        return NULL;
    return g_strdup_printf("%s/%s", parts[0], parts[2]);
}

/* A subnets[] item: VNET/SUBNET, or az's {id: …/virtualNetworks/VNET/subnets/SUBNET}. */
static ModelSubnet *resolve_subnet_item(ScnLoad *ld, const ScnNode *item, GError **error)
{
    if (item->kind != SCN_NODE_MAP)
        return scn_resolve_subnet(ld, item, error);
    const ScnNode *id = NULL;
    if (!scn_check_keys(item, "subnet reference", ref_keys, G_N_ELEMENTS(ref_keys), error) ||
        !scn_req_node(item, "id", "subnet reference", &id, error) ||
        !scn_node_string(id, "id", &(const char *){NULL}, error))
        return NULL;
    g_autofree char *path = subnet_path_of_id(id->text);
    if (!path) {
        scn_fail(error, SCN_ERROR_VALUE, &id->mark,
                 "'id' \"%s\" does not end in /virtualNetworks/VNET/subnets/SUBNET", id->text);
        return NULL;
    }
    ScnNode ref = *id;
    ref.text = path;
    return scn_resolve_subnet(ld, &ref, error);
}

static bool attach(ModelSubnet *subnet, ModelNatGw *gw, const ScnNode *at, GError **error)
{
    GError *cause = NULL;
    if (!model_subnet_set_nat_gateway(subnet, gw, &cause))
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, &at->mark);
    return true;
}

static bool load_natgw(ScnLoad *ld, const ScnNode *m, GError **error)
{
    if (!scn_check_keys(m, "NAT gateway", natgw_keys, G_N_ELEMENTS(natgw_keys), error))
        return false;
    const ScnNode *name = scn_name_of(m, "NAT gateway", error);
    if (!name || !scn_check_name(name, "NAT gateway", error))
        return false;
    if (scn_names_find(&state(ld)->gateways, name->text))
        return scn_names_add(&state(ld)->gateways, name->text, name, NULL, error);
    const ScnDef *taken = scn_names_find(&ld->hosts, name->text);
    if (!taken)
        taken = scn_names_find(&ld->endpoints, name->text);
    if (taken)
        return scn_fail(error, SCN_ERROR_REFERENCE, &name->mark,
                        "'%s' is already the name of the object defined at line %d: a NAT "
                        "gateway is a host of the scenario (its public side), in the hosts' "
                        "namespace",
                        name->text, taken->node->mark.line);
    g_autofree char *capture = g_strdup_printf("%s-inet0", name->text);
    uint32_t ips[NATGW_IPS_MAX];
    size_t n = 0;
    if (!scn_claim_capture(ld, capture, name, error) ||
        !load_public_ips(ld, m, name->text, ips, &n, error))
        return false;
    GError *cause = NULL;
    ModelNatGw *gw = model_net_add_nat_gateway(ld->net, name->text, ips, n, &cause);
    if (!gw) {
        const ScnNode *at = scn_get(m, "publicIpAddresses");
        return scn_fail_prefix(error, cause, SCN_ERROR_VALUE, at ? &at->mark : &name->mark);
    }
    /* Flows may aim at it: what the internet sees of it (nothing answers: inbound is
     * dropped, as in Azure). */
    ScnHostDef *def = g_new0(ScnHostDef, 1);
    def->host = model_nat_gateway_host(gw);
    def->kind = MODEL_HOST_SERVICE;
    def->public_ip = ips[0];
    def->node = m;
    g_ptr_array_add(ld->host_defs, def);
    if (!scn_names_add(&state(ld)->gateways, name->text, name, gw, error) ||
        !scn_names_add(&ld->hosts, name->text, name, def, error))
        return false;
    const ScnNode *subnets = NULL;
    if (!scn_opt_list(m, "subnets", &subnets, error))
        return false;
    for (guint i = 0; subnets && i < subnets->items->len; i++) {
        const ScnNode *item = SCN_ITEM(subnets, i);
        ModelSubnet *subnet = resolve_subnet_item(ld, item, error);
        if (!subnet || !attach(subnet, gw, item, error))
            return false;
    }
    return true;
}

bool scn_load_nat_gateways(ScnLoad *ld, const ScnNode *value, GError **error)
{
    if (!scn_check_list(value, "natGateways", error))
        return false;
    for (guint i = 0; i < value->items->len; i++)
        if (!load_natgw(ld, SCN_ITEM(value, i), error))
            return false;
    return true;
}

bool scn_attach_nat_gateways(ScnLoad *ld, const ScnNode *value, GError **error)
{
    (void)value; /* the subnets were read with the vnets: their keys wait in state(ld) */
    ScnNatgwLoad *s = state(ld);
    for (guint i = 0; i < s->refs->len; i++) {
        NatRef *r = &g_array_index(s->refs, NatRef, i);
        ModelNatGw *gw = scn_names_resolve(&s->gateways, &r->ref, error);
        if (!gw || !attach(r->subnet, gw, &r->ref, error))
            return false;
    }
    return true;
}
