/*
 * dns.h — the DNS data of a scenario and how Azure resolves it: the public (internet) view,
 * Azure Private DNS zones with their virtual network links, and the resolution Azure DNS
 * (168.63.129.16) performs for a query from a VNet. Pure data and logic: no packets, no
 * clock (the packet-level resolvers and servers live in dns_client.c / dns_server.c).
 *
 * The rules, with their sources (azdocs: is the MicrosoftDocs/azure-docs repository):
 *  - A private zone linked to a VNet "overrides name resolution for all names within the
 *    scope of the root of the zone" (azdocs:articles/machine-learning/how-to-custom-dns.md):
 *    a name under it that the zone lacks is NXDOMAIN, whatever the internet says.
 *  - "The records contained in a private DNS zone are not resolvable from the Internet.
 *    DNS resolution against a private DNS zone works only from virtual networks that are
 *    linked to it" (azdocs:articles/dns/private-dns-privatednszone.md).
 *  - Azure publishes "a canonical name DNS record (CNAME) on the public DNS" that
 *    "redirects the resolution to the private domain name"
 *    (azdocs:articles/private-link/private-endpoint-dns.md); so a chain may start public
 *    and end private.
 *  - resolutionPolicy NxDomainRedirect on a link: "the Azure recursive resolver retries
 *    the query ... each time an NXDOMAIN response is received from PrivateEdge for that
 *    private zone scope"; "only available for Private DNS zones associated to Private Link
 *    resources" (azdocs:articles/dns/private-dns-fallback.md); "Only applicable ... for
 *    A,AAAA,CNAME queries" (PrivateDnsResolutionPolicy, Azure REST API reference).
 *  - Links: "You can create only one link between a private DNS zone and a virtual
 *    network"; link names are unique within a zone (azdocs:articles/dns/
 *    private-dns-virtual-network-links.md); "creating multiple zones with the same name for
 *    a single virtual network is not supported" (azdocs:articles/private-link/
 *    private-link-faq.yml; Azure's error: "A virtual network cannot be linked to multiple
 *    zones with overlapping namespaces").
 *  - Zones with the same name may exist in different resource groups — "Storage accounts
 *    that are in different resource groups have resource records in different (identically
 *    named) Private DNS zones" (private-dns-fallback.md).
 *
 * Names are text: case-insensitive, a trailing dot accepted and dropped, labels of 1–63
 * letters, digits, '-' or '_', at most 253 characters; stored lowercase. Functions that
 * take user input return FALSE / NULL with a GError (MODEL_DNS_ERROR) and change nothing.
 *
 * Ownership: the db owns zones, links and records; ModelDnsZone pointers and the strings
 * they return stay valid until model_dns_db_free(). VNets are opaque keys (the lead passes
 * ModelVnet pointers) that the db never dereferences.
 */
#ifndef VNETSIM_MODEL_DNS_H
#define VNETSIM_MODEL_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "pcap/dns.h"

typedef struct ModelDnsDb ModelDnsDb;     /* all DNS data of a scenario */
typedef struct ModelDnsZone ModelDnsZone; /* an Azure Private DNS zone */

#define MODEL_DNS_ERROR (model_dns_error_quark())
GQuark model_dns_error_quark(void);

typedef enum {
    MODEL_DNS_ERROR_NAME,            /* not a valid name (empty label, bad character, too long) */
    MODEL_DNS_ERROR_DUPLICATE,       /* a zone or link that already exists */
    MODEL_DNS_ERROR_CONFLICT,        /* records that may not coexist (CNAME and other data) */
    MODEL_DNS_ERROR_OUTSIDE_ZONE,    /* an absolute record name that is not in the zone */
    MODEL_DNS_ERROR_LINK,            /* a virtual network link Azure refuses */
    MODEL_DNS_ERROR_NO_PRIVATE_LINK, /* a name no private link zone is known for */
} ModelDnsErrorCode;

/* The longest CNAME chain followed: the 17th CNAME gives SERVFAIL (as does a loop). */
#define MODEL_DNS_MAX_CNAMES 16

/* TTLs the model gives records (seconds). DEFAULT is the portal's default for a new
 * record set ("the TTL is 3600 seconds or 1 hour", azdocs:articles/dns/
 * dns-private-records.md); PRIVATE_ENDPOINT is what a private endpoint's DNS zone group
 * writes ("when you create a Private Endpoint for Key Vault, the TTL for the A record is
 * 10s", MicrosoftDocs/azure-docs issue 77392); PUBLIC is an illustrative value for the
 * CNAME chains Azure publishes (no document states it). */
#define MODEL_DNS_TTL_DEFAULT          3600
#define MODEL_DNS_TTL_PRIVATE_ENDPOINT 10
#define MODEL_DNS_TTL_PUBLIC           60

/* ---- names ---- */

/* The canonical form of name: lowercase, no trailing dot. Returns a new string (g_free),
 * or NULL with *error (MODEL_DNS_ERROR_NAME) for an invalid name; "*" is not accepted.
 * O(length). */
char *model_dns_name_normalize(const char *name, GError **error);

/* True when name equals zone or lies below it, label-aligned: "a.blob.core.windows.net"
 * is within "blob.core.windows.net", "ablob.core.windows.net" is not. Both canonical
 * (case is ignored). O(length). */
bool model_dns_name_within(const char *name, const char *zone);

/* ---- the db ---- */

ModelDnsDb *model_dns_db_new(void);
/* Frees zones, links and records. NULL-safe. */
void model_dns_db_free(ModelDnsDb *db);

/* How traces name a VNet key ("vnet-ml"). Without it a trace names the link instead (the
 * db never prints a pointer, which would make traces differ from run to run). The
 * returned string must outlive the call. */
typedef const char *(*ModelDnsVnetNameFn)(const void *vnet);
void model_dns_db_set_vnet_name_fn(ModelDnsDb *db, ModelDnsVnetNameFn fn);

/* ---- the public view: what a public recursive resolver answers ---- */

/* Adds an A record to name's record set (the same address twice is a no-op), TTL
 * MODEL_DNS_TTL_PUBLIC. name may be a wildcard ("*.example.com"). Fails (CONFLICT) when
 * name has a CNAME: "CNAME record sets can't coexist with other record sets with the same
 * name" (dns-private-records.md; RFC 1034 3.6.2). */
gboolean model_dns_public_add_a(ModelDnsDb *db, const char *name, uint32_t ip, GError **error);
/* Adds name CNAME target. Fails (CONFLICT) when name has an A record or a CNAME to another
 * target ("these record sets can only contain a single record"); the same CNAME twice is
 * a no-op. */
gboolean model_dns_public_add_cname(ModelDnsDb *db, const char *name, const char *target,
                                    GError **error);

/* ---- private DNS zones and their virtual network links ---- */

/* Creates a zone in the default resource group. Fails for an invalid name, a name of one
 * label or more than 34 ("Single labeled private DNS zones are not supported ... A private
 * DNS zone can have a maximum 34 labels", private-dns-privatednszone.md), or a zone of
 * that name already in the resource group (DUPLICATE). */
ModelDnsZone *model_dns_zone_add(ModelDnsDb *db, const char *zone_name, GError **error);
/* The same in a named resource group (NULL: the default one): zones of one name may exist
 * in several groups, e.g. one privatelink.blob.core.windows.net per spoke. Resource group
 * names compare case-insensitively. */
ModelDnsZone *model_dns_zone_add_in(ModelDnsDb *db, const char *zone_name,
                                    const char *resource_group, GError **error);
/* The first zone created with that name (any resource group), or NULL. O(zones). */
ModelDnsZone *model_dns_zone_find(const ModelDnsDb *db, const char *zone_name);
/* The zone of that name in that resource group (NULL: the default one), or NULL. */
ModelDnsZone *model_dns_zone_find_in(const ModelDnsDb *db, const char *zone_name,
                                     const char *resource_group);

const char *model_dns_zone_name(const ModelDnsZone *zone);
const char *model_dns_zone_resource_group(const ModelDnsZone *zone); /* "" by default */

/* Record names in a zone, as Azure takes them ("Records are specified by using relative
 * names", dns-private-records.md): "@" is the apex; a name ending in a dot is absolute and
 * must lie in the zone (OUTSIDE_ZONE otherwise); a name without one that already lies in
 * the zone is taken as absolute, any other is relative ("mlwsstore" in
 * privatelink.blob.core.windows.net is mlwsstore.privatelink.blob.core.windows.net). A
 * wildcard "*" or "*.label" is allowed ("Azure DNS supports wildcard records"). */

/* Adds an A record (TTL MODEL_DNS_TTL_DEFAULT) to the record set; the same address twice
 * is a no-op. Fails (CONFLICT) when the name has a CNAME. */
gboolean model_dns_zone_add_a(ModelDnsZone *zone, const char *name, uint32_t ip, GError **error);
/* Adds a CNAME (TTL MODEL_DNS_TTL_DEFAULT). Fails (CONFLICT) at the apex ("you can't
 * create a CNAME record set at the zone apex"), when the name has an A record, or a CNAME
 * to another target. */
gboolean model_dns_zone_add_cname(ModelDnsZone *zone, const char *name, const char *target,
                                  GError **error);

/* Links the zone to a VNet; queries from that VNet to Azure DNS then see the zone.
 * nxdomain_redirect is resolutionPolicy NxDomainRedirect ("Enable fallback to internet").
 * Fails (LINK) when the zone is already linked to vnet, when vnet is already linked to
 * another zone of the same name, when nxdomain_redirect is asked of a zone that is not a
 * private link zone (one with a label starting "privatelink"), and (DUPLICATE) when the
 * zone already has a link of that name. O(links of the zone). */
gboolean model_dns_zone_link(ModelDnsZone *zone, const void *vnet, const char *link_name,
                             bool nxdomain_redirect, GError **error);

/* ---- resolution ---- */

typedef struct {
    char *name;    /* owner, canonical; for a wildcard match the query name */
    uint16_t type; /* PCAP_DNS_A or PCAP_DNS_CNAME */
    uint32_t ttl;
    uint32_t a;       /* host order, type A */
    char *target;     /* type CNAME; NULL otherwise */
    const char *from; /* "public" or the private zone's name (owned by the db) */
} ModelDnsRR;

typedef struct {
    uint8_t rcode;       /* PCAP_DNS_NOERROR, _NXDOMAIN, _SERVFAIL (_REFUSED: zone_answer) */
    ModelDnsRR *answers; /* the CNAME chain, then the A record(s), as a resolver returns
                            them; with NXDOMAIN the CNAMEs that led there (RFC 6604);
                            none with SERVFAIL */
    size_t n_answers;
    uint32_t address;         /* the first A, 0 if none */
    bool private_answer;      /* the final A came from a private zone */
    bool nxdomain_redirected; /* a link's NxDomainRedirect sent a name to public DNS */
    char *decided_by;         /* the zone, "public DNS" or the resolver that gave the final
                                 answer (or the NXDOMAIN / SERVFAIL) — for traces */
    char *detail;             /* one line for a trace: the chain and why */
} ModelDnsResult;

/* Resolves qname as Azure DNS (168.63.129.16) does for a query from vnet; vnet NULL is a
 * public resolver on the internet, which never consults private zones. At each name of
 * the chain, the linked zone with the longest name containing it (label-aligned) is
 * authoritative: a record answers (A, or a CNAME to follow); no record is NXDOMAIN — or,
 * when that link's policy is NxDomainRedirect and qtype is A, AAAA or CNAME, the public
 * view answers that name. With no linked zone, the public view answers (no record:
 * NXDOMAIN). A name that exists without the asked type is NOERROR with no data (a
 * qtype AAAA query ends so, the model holding no AAAA records). qtype CNAME returns the
 * CNAME itself, not followed. More than MODEL_DNS_MAX_CNAMES CNAMEs, or a loop: SERVFAIL.
 * An invalid qname is NXDOMAIN (no zone holds it). out is overwritten without being
 * freed: pass a zeroed or cleared result; free it with model_dns_result_clear(). Never
 * fails. O(chain × labels) hash lookups. */
void model_dns_resolve(const ModelDnsDb *db, const void *vnet, const char *qname, uint16_t qtype,
                       ModelDnsResult *out);

/* Answers from one zone only, as an authoritative server hosting it would (a DNS server
 * VM's own zone, or tests; keep such zones in a db of the server's own so they are never
 * linked): NXDOMAIN / NOERROR with the zone's records, CNAMEs followed while their targets
 * stay in the zone; a name outside the zone is REFUSED. Same contract for out. */
void model_dns_zone_answer(const ModelDnsZone *zone, const char *qname, uint16_t qtype,
                           ModelDnsResult *out);

/* Frees what a result holds and zeroes it. NULL-safe; clearing twice is harmless. */
void model_dns_result_clear(ModelDnsResult *result);

/* ---- Azure PaaS names (one table, dns_names.c; azure-facts §3, private-endpoint-dns.md,
 * machine-learning/how-to-custom-dns.md) ---- */

/* The private link name Azure CNAMEs a public service FQDN to:
 *   acct.blob.core.windows.net (file, queue, table, dfs, web) -> acct.privatelink.blob...
 *   <guid>.workspace.<region>.api.azureml.ms -> <guid>.workspace.<region>.privatelink.api...
 *   <guid>.workspace.<region>.cert.api.azureml.ms -> ….cert.privatelink.api.azureml.ms
 *   ml-<ws>-<region>-<guid>.<region>.notebooks.azure.net -> ….<region>.privatelink.notebooks…
 *   kv.vault.azure.net (or kv.vaultcore.azure.net) -> kv.privatelink.vaultcore.azure.net
 *   reg.azurecr.io -> reg.privatelink.azurecr.io
 *   reg.<region>.data.azurecr.io -> reg.<region>.data.privatelink.azurecr.io
 * A name already in private link form maps to itself. Returns a new string and, when
 * zone_out is not NULL, the recommended zone in *zone_out (both g_free; *zone_out NULL
 * when the result is NULL). NULL for a name with no private link zone, an invalid name,
 * and the names that need the workspace GUID (below). */
char *model_dns_privatelink_name(const char *public_fqdn, char **zone_out);
/* The same, knowing the workspace GUID, which two AML names need:
 *   <endpoint>.<region>.inference.ml.azure.com
 *       -> <endpoint>.<guid>.inference.<region>.privatelink.api.azureml.ms (documented)
 *   <instance>.<region>.instances.azureml.ms
 *       -> <guid>.workspace.<region>.privatelink.api.azureml.ms (modelled: the docs give no
 *          private link name, only that it resolves to the workspace endpoint's IP). */
char *model_dns_privatelink_name_for_workspace(const char *public_fqdn, const char *workspace_guid,
                                               char **zone_out);

/* Registers a PaaS endpoint in the public view as Azure's DNS publishes it: with a private
 * endpoint, fqdn CNAME privatelink-name CNAME public_host A public_ip; without, fqdn CNAME
 * public_host A public_ip. public_host NULL: an illustrative front-end host for the
 * service ("blob.bl5prdstr09a.store.core.windows.net"), a different one per public_ip.
 * Fails (nothing added) for an invalid name, an explicit public_host that already has
 * another address (CONFLICT), a fqdn already registered otherwise (CONFLICT), or
 * has_private_endpoint on a name with no private link zone (NO_PRIVATE_LINK). Registering
 * the same thing twice is a no-op, and so is registering without a private endpoint a name
 * already published with its private link CNAME (the endpoint came first). When the private
 * link name is already published (a compute instance shares its workspace's), the name
 * joins that chain and public_ip is not used. */
gboolean model_dns_register_service(ModelDnsDb *db, const char *fqdn, uint32_t public_ip,
                                    const char *public_host, bool has_private_endpoint,
                                    GError **error);
/* The same for the names that need the workspace GUID (inference, instances; any other
 * name works too). */
gboolean model_dns_register_workspace_service(ModelDnsDb *db, const char *fqdn,
                                              const char *workspace_guid, uint32_t public_ip,
                                              const char *public_host, bool has_private_endpoint,
                                              GError **error);

/* A private endpoint's A record, as the portal's DNS integration (a private DNS zone
 * group) writes it: privatelink-name A ip, TTL MODEL_DNS_TTL_PRIVATE_ENDPOINT, replacing
 * the record set of that name ("Existing Private DNS Zones linked to a single Azure
 * service should not be associated with two different Azure service Private Endpoints.
 * This will cause a deletion of the initial A-record", private-endpoint-dns.md). The zone
 * is the first created with the recommended name (for ACR's data endpoint,
 * <region>.data.privatelink.azurecr.io, else privatelink.azurecr.io). Returns that zone,
 * or NULL without an error when the db has no such zone: the record goes nowhere, itself
 * a classic misconfiguration. NULL with *error for an invalid name, a name with no
 * private link zone (NO_PRIVATE_LINK), or a CNAME at the record's name (CONFLICT). */
ModelDnsZone *model_dns_register_private_endpoint(ModelDnsDb *db, const char *fqdn, uint32_t ip,
                                                  GError **error);
/* The same knowing the workspace GUID: for inference the record is the documented
 * wildcard "*.<guid>.inference.<region>" in privatelink.api.azureml.ms. */
ModelDnsZone *model_dns_register_workspace_private_endpoint(ModelDnsDb *db, const char *fqdn,
                                                            const char *workspace_guid, uint32_t ip,
                                                            GError **error);

/* ---- internal to model/dns*.c (not for other modules) ---- */

/* model_dns_name_normalize(), optionally accepting a wildcard leftmost label "*". */
char *model__dns_name_canon(const char *name, bool allow_wildcard, GError **error);

/* One public FQDN looked up in the PaaS table (dns_names.c). */
typedef struct {
    char *privatelink; /* the CNAME target Azure publishes */
    char *zone;        /* the recommended private DNS zone */
    char *alt_zone;    /* another zone the record may live in (ACR data), or NULL */
    char *record;      /* the name DNS integration registers (a wildcard for inference) */
    char *host_fmt;    /* the illustrative public front end; "$s" stands for a stamp letter */
} ModelDnsPaasName;

/* Fills out for a canonical fqdn; false (out zeroed) when no row matches or the row needs
 * a workspace GUID that is NULL. */
bool model__dns_paas_lookup(const char *fqdn, const char *workspace_guid, ModelDnsPaasName *out);
/* The default host with stamp letter 'a'..'z'. Returns a new string. */
char *model__dns_paas_host(const ModelDnsPaasName *n, char stamp);
void model__dns_paas_clear(ModelDnsPaasName *n);

#endif
