/*
 * servicetag.h — Azure service tags: named sets of public prefixes (Storage.EastUS,
 * AzureMachineLearning, AzureCloud.japaneast …) used in NSG rules, UDRs and explanations.
 *
 * azdocs:articles/virtual-network/service-tags-overview.md: a tag names the prefixes of a
 * service, optionally scoped to a region (Storage.WestUS is the WestUS part of Storage);
 * Microsoft publishes them weekly as the "Azure IP Ranges and Service Tags" JSON.
 *
 * The table starts from a compiled-in excerpt of that file (model_service_tags_new_builtin)
 * and can be overlaid with a full published file (model_service_tags_load_json). The
 * topological tags VirtualNetwork and Internet are not stored here: they depend on the
 * scenario's VNets and are computed by the topology module.
 */
#ifndef VNETSIM_MODEL_SERVICETAG_H
#define VNETSIM_MODEL_SERVICETAG_H

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "model/prefixset.h"

typedef struct ModelServiceTags ModelServiceTags;

#define MODEL_SERVICE_TAGS_ERROR (model_service_tags_error_quark())
GQuark model_service_tags_error_quark(void);

typedef enum {
    MODEL_SERVICE_TAGS_ERROR_IO,     /* the file could not be read */
    MODEL_SERVICE_TAGS_ERROR_SYNTAX, /* not JSON; the message carries path:line:col */
    MODEL_SERVICE_TAGS_ERROR_FORMAT, /* JSON, but not the published service-tag layout */
} ModelServiceTagsError;

/* The built-in table: a few real prefixes per tag, taken from Microsoft's published
 * ServiceTags_Public_20210301.json, for the tags AML scenarios use, in the regions eastus,
 * westeurope and japaneast; top-level tags and AzureCloud[.region] are derived from them
 * (see servicetag.c). Never fails. Free with model_service_tags_free. */
ModelServiceTags *model_service_tags_new_builtin(void);

/* Loads a published "Azure IP Ranges and Service Tags" file (values[].name,
 * values[].properties.region, values[].properties.addressPrefixes; IPv6 prefixes are
 * skipped) and replaces the definitions of the tags it names, adding the tags the table
 * did not have; other tags are kept. Tags are taken exactly as the file gives them: a file
 * naming only Storage.EastUS does not change Storage or AzureCloud (the published file
 * carries those itself).
 * On failure returns FALSE, sets *error (MODEL_SERVICE_TAGS_ERROR) to "path: message" —
 * for JSON syntax errors "path:line:col: message" — and leaves tags unchanged. Previously
 * returned set pointers and names stay valid only for tags the file did not name. */
gboolean model_service_tags_load_json(ModelServiceTags *tags, const char *path, GError **error);

/* The set of the named tag, case-insensitively ("storage.EastUS" is Storage.EastUS: NSG
 * rules accept either spelling, see servicetag.c), or NULL when no such tag is stored
 * (VirtualNetwork and Internet never are: see model_service_tag_is_topological). The set
 * is normalized, owned by tags and valid until the next load that names the tag. O(1). */
const ModelPrefixSet *model_service_tags_lookup(const ModelServiceTags *tags, const char *name);

/* The stored spelling of a tag matched case-insensitively ("storage.eastus" ->
 * "Storage.EastUS"), or NULL when unknown. For lint's spelling hints and for modelling
 * services that, unlike NSGs, compare tag names exactly (Azure Firewall). Owned by tags. */
const char *model_service_tags_canonical_name(const ModelServiceTags *tags, const char *name);

/* The most specific tag containing ip, for explanations: a regional service tag beats a
 * top-level or global service tag, which beats AzureCloud.<region>, which beats AzureCloud;
 * within one rank the tag whose matching prefix is longer wins, then the alphabetically
 * first name (so 168.63.129.16 -> "AzureLoadBalancer" over "AzurePlatformDNS"). Example:
 * 20.60.0.4 -> "Storage.EastUS". NULL when no tag contains ip. The name is owned by tags.
 * O(32): one trie lookup in an index built at load time. */
const char *model_service_tags_name_of(const ModelServiceTags *tags, uint32_t ip);

/* Calls fn for every stored tag in case-insensitive name order — for "did you mean"
 * suggestions. fn must not modify tags. */
void model_service_tags_foreach(const ModelServiceTags *tags,
                                void (*fn)(const char *name, const ModelPrefixSet *set, void *ctx),
                                void *ctx);

/* Frees the table, its sets and names. NULL-safe. */
void model_service_tags_free(ModelServiceTags *tags);

/* True for the tags that depend on the topology and are computed by the topology module,
 * not stored here: VirtualNetwork, Internet (case-insensitive, so the classic spelling
 * INTERNET is included; ARM rejects the classic VIRTUAL_NETWORK, observed in
 * MicrosoftDocs/azure-docs#1206). */
bool model_service_tag_is_topological(const char *name);

#endif
