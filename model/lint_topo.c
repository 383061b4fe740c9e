/*
 * lint_topo.c — small questions about where things sit in a finalized net, asked by
 * `vnetsim explain` to turn a trace into a fix that names the objects to change (the
 * subnet a reply leaves from, its route table, the VNet range a route must cover).
 * Read-only; strings are borrowed from the net.
 */
#include "model/lint.h"
#include "model/net_internal.h"

#include <string.h>

static void fill_nic(const ModelNic *nic, ModelLintPlace *out)
{
    out->found = true;
    if (nic->public_ip)
        out->public_ip = nic->public_ip;
    if (!nic->subnet || out->subnet)
        return;
    out->subnet = nic->subnet->path;
    out->vnet = nic->subnet->vnet->name;
    out->nsg = nic->subnet->nsg ? model_nsg_name(nic->subnet->nsg) : NULL;
    out->nic_nsg = nic->nsg ? model_nsg_name(nic->nsg) : NULL;
    out->route_table = nic->subnet->route_table ? nic->subnet->route_table->name : NULL;
    out->ip = nic->ip;
    if (nic->subnet->vnet->n_space)
        out->vnet_space = nic->subnet->vnet->space[0];
}

void model_lint_place(const ModelNet *net, const char *name, ModelLintPlace *out)
{
    memset(out, 0, sizeof *out);
    const ModelHost *h = model_net_find_host(net, name);
    if (h) {
        out->found = true;
        out->kind = h->kind;
        out->public_ip = h->public_ip;
        for (guint i = 0; i < h->nics->len; i++)
            fill_nic(h->nics->pdata[i], out);
        return;
    }
    for (guint i = 0; i < net->nics->len; i++) {
        const ModelNic *n = net->nics->pdata[i];
        if (n->pe_target && strcmp(n->name, name) == 0) {
            out->private_endpoint = true;
            out->kind = MODEL_HOST_SERVICE;
            fill_nic(n, out);
            return;
        }
    }
}

const char *model_lint_owner_of(const ModelNet *net, uint32_t ip)
{
    for (guint i = 0; i < net->nics->len; i++) {
        const ModelNic *n = net->nics->pdata[i];
        if (n->ip == ip || (n->public_ip && n->public_ip == ip))
            return n->pe_target || !n->host ? n->name : n->host->name;
    }
    for (guint i = 0; i < net->hosts->len; i++) {
        const ModelHost *h = net->hosts->pdata[i];
        if (h->public_ip == ip)
            return h->name;
    }
    return NULL;
}

const char *model_lint_tag_of(const ModelNet *net, uint32_t ip)
{
    return model_service_tags_name_of(net->tags, ip);
}
