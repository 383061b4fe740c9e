/*
 * net_dns.c — a topology's DNS configuration: resolvers of VNets and hosts, hosts files,
 * DNS servers, and the PaaS names whose public chains and private endpoint records are
 * registered at finalize (the packet-level side is dns_client.c and dns_server.c).
 */
#include "model/net_internal.h"

#include <string.h>

#define NET_ERROR (g_quark_from_static_string("model-net"))

ModelDnsDb *model_net_dns(ModelNet *net)
{
    return net->dns;
}

void model_vnet_set_dns_servers(ModelVnet *vnet, const uint32_t *ips, size_t n)
{
    g_array_set_size(vnet->dns_servers, 0);
    g_array_append_vals(vnet->dns_servers, ips, (guint)n);
}

void model_host_set_dns_servers(ModelHost *host, const uint32_t *ips, size_t n)
{
    g_array_set_size(host->dns_servers, 0);
    g_array_append_vals(host->dns_servers, ips, (guint)n);
}

gboolean model_host_add_hosts_entry(ModelHost *host, const char *name, uint32_t ip, GError **error)
{
    if (!name || !*name || strchr(name, ' ')) {
        g_set_error(error, NET_ERROR, 0, "host '%s': hosts entry needs a name", host->name);
        return FALSE;
    }
    g_autofree char *lower = g_ascii_strdown(name, -1);
    size_t len = strlen(lower);
    if (lower[len - 1] == '.')
        lower[len - 1] = '\0';
    if (g_hash_table_contains(host->hosts_file, lower)) {
        g_set_error(error, NET_ERROR, 0, "host '%s': '%s' is in its hosts file twice", host->name,
                    name);
        return FALSE;
    }
    g_hash_table_insert(host->hosts_file, g_steal_pointer(&lower), GUINT_TO_POINTER(ip));
    return TRUE;
}

void model_host_set_dns_server(ModelHost *host, ModelDnsServerKind kind)
{
    model__dns_server_free(host->dns_server);
    host->dns_server = model__dns_server_new(kind);
    model_host_listen(host, MODEL_IPPROTO_UDP, 53);
}

void model_dns_server_add_forwarder(ModelHost *host, uint32_t ip)
{
    g_return_if_fail(host->dns_server);
    model__dns_server_add_forwarder(host->dns_server, ip);
}

gboolean model_dns_server_add_conditional(ModelHost *host, const char *zone, const uint32_t *ips,
                                          size_t n, GError **error)
{
    if (!host->dns_server) {
        g_set_error(error, NET_ERROR, 0, "host '%s' is not a DNS server", host->name);
        return FALSE;
    }
    if (!zone || !*zone || n == 0) {
        g_set_error(error, NET_ERROR, 0,
                    "host '%s': a conditional forwarder needs a zone and at least one server",
                    host->name);
        return FALSE;
    }
    model__dns_server_add_conditional(host->dns_server, zone, ips, n);
    return TRUE;
}

void model_net_register_fqdn(ModelNet *net, const char *fqdn, ModelHost *service)
{
    g_hash_table_replace(net->fqdn_service, g_ascii_strdown(fqdn, -1), service);
}

gboolean model_private_endpoint_add_fqdn(ModelNet *net, ModelNic *pe, const char *fqdn,
                                         GError **error)
{
    if (!pe->pe_target) {
        g_set_error(error, NET_ERROR, 0, "'%s' is not a private endpoint", pe->name);
        return FALSE;
    }
    ModelHost *other = g_hash_table_lookup(net->fqdn_service, fqdn);
    if (other && other != pe->pe_target) {
        g_set_error(error, NET_ERROR, 0, "'%s' already names service '%s'", fqdn, other->name);
        return FALSE;
    }
    model_net_register_fqdn(net, fqdn, pe->pe_target);
    g_ptr_array_add(pe->fqdns, g_ascii_strdown(fqdn, -1));
    return TRUE;
}

/* Public chains and private-endpoint records for every registered PaaS name. Names are
 * visited sorted, so the zones are filled the same way on every run. */
gboolean model__register_service_names(ModelNet *net, GError **error)
{
    GList *names = g_list_sort(g_hash_table_get_keys(net->fqdn_service), (GCompareFunc)strcmp);
    gboolean ok = TRUE;
    for (GList *l = names; l && ok; l = l->next) {
        const char *fqdn = l->data;
        ModelHost *service = g_hash_table_lookup(net->fqdn_service, fqdn);
        bool has_pe = false;
        for (guint i = 0; i < net->nics->len && ok; i++) {
            ModelNic *n = g_ptr_array_index(net->nics, i);
            for (guint k = 0; k < n->fqdns->len && ok; k++) {
                if (strcmp(g_ptr_array_index(n->fqdns, k), fqdn) != 0)
                    continue;
                has_pe = true;
                GError *err = NULL;
                model_dns_register_private_endpoint(net->dns, fqdn, n->ip, &err);
                if (err) {
                    g_propagate_error(error, err);
                    ok = FALSE;
                }
            }
        }
        if (ok && service->public_ip)
            ok =
                model_dns_register_service(net->dns, fqdn, service->public_ip, NULL, has_pe, error);
    }
    g_list_free(names);
    return ok;
}
