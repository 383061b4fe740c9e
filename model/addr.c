#include "model/addr.h"

#include <stdio.h>
#include <string.h>

/* Reads one decimal octet (0–255, no sign, no leading zero unless it is "0"). */
static const char *parse_octet(const char *p, uint32_t *out)
{
    if (*p < '0' || *p > '9')
        return NULL;
    if (p[0] == '0' && p[1] >= '0' && p[1] <= '9')
        return NULL;
    uint32_t v = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (uint32_t)(*p - '0');
        if (++digits > 3 || v > 255)
            return NULL;
        p++;
    }
    *out = v;
    return p;
}

static const char *parse_quad(const char *p, uint32_t *out)
{
    uint32_t ip = 0;
    for (int i = 0; i < 4; i++) {
        uint32_t octet;
        if (i > 0 && *p++ != '.')
            return NULL;
        p = parse_octet(p, &octet);
        if (!p)
            return NULL;
        ip = ip << 8 | octet;
    }
    *out = ip;
    return p;
}

bool model_ip_parse(const char *text, uint32_t *out)
{
    uint32_t ip;
    const char *end = parse_quad(text, &ip);
    if (!end || *end != '\0')
        return false;
    *out = ip;
    return true;
}

ModelPrefixStatus model_prefix_parse(const char *text, bool allow_host_bits, ModelPrefix *out)
{
    uint32_t ip;
    const char *p = parse_quad(text, &ip);
    if (!p)
        return MODEL_PREFIX_SYNTAX;
    uint32_t len = 32;
    if (*p == '/') {
        p++;
        if (*p < '0' || *p > '9')
            return MODEL_PREFIX_SYNTAX;
        len = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            len = len * 10 + (uint32_t)(*p++ - '0');
            if (++digits > 2)
                return MODEL_PREFIX_LENGTH;
        }
        if (len > 32)
            return MODEL_PREFIX_LENGTH;
    }
    if (*p != '\0')
        return MODEL_PREFIX_SYNTAX;
    uint32_t mask = model_prefix_mask((uint8_t)len);
    if ((ip & ~mask) && !allow_host_bits)
        return MODEL_PREFIX_HOST_BITS;
    out->addr = ip & mask;
    out->len = (uint8_t)len;
    return MODEL_PREFIX_OK;
}

const char *model_prefix_status_text(ModelPrefixStatus status)
{
    switch (status) {
    case MODEL_PREFIX_OK:
        return "valid";
    case MODEL_PREFIX_SYNTAX:
        return "expected an IPv4 address or prefix such as 10.0.0.0/16";
    case MODEL_PREFIX_LENGTH:
        return "prefix length must be between 0 and 32";
    case MODEL_PREFIX_HOST_BITS:
        return "host bits set beyond the prefix length";
    }
    return "unknown";
}

void model_ip_format(uint32_t ip, char buf[MODEL_IP_STRLEN])
{
    snprintf(buf, MODEL_IP_STRLEN, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
             ip & 255);
}

void model_prefix_format(ModelPrefix p, char buf[MODEL_PREFIX_STRLEN])
{
    char ip[MODEL_IP_STRLEN];
    model_ip_format(p.addr, ip);
    snprintf(buf, MODEL_PREFIX_STRLEN, "%s/%u", ip, p.len);
}

bool model_ip_is_private(uint32_t ip)
{
    static const ModelPrefix private_space[] = {
        {MODEL_IP4(10, 0, 0, 0), 8},
        {MODEL_IP4(172, 16, 0, 0), 12},
        {MODEL_IP4(192, 168, 0, 0), 16},
        {MODEL_IP4(100, 64, 0, 0), 10},
    };
    for (size_t i = 0; i < sizeof private_space / sizeof private_space[0]; i++)
        if (model_prefix_contains(private_space[i], ip))
            return true;
    return false;
}
