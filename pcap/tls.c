/*
 * \summary: TLS 1.3 records: ClientHello, ServerHello, application data, alert
 *
 * specification: RFC 8446 (TLS 1.3: 5.1 records, 4.1.2 ClientHello, 4.1.3 ServerHello,
 *                4.2 extensions), RFC 6066 3 (server_name), RFC 7301 (ALPN)
 *
 *   struct {
 *       ContentType type;                       handshake(22), application_data(23),
 *       ProtocolVersion legacy_record_version;  alert(21); 0x0303 (0x0301 on a
 *       uint16 length;                          first ClientHello)
 *       opaque fragment[TLSPlaintext.length];
 *   } TLSPlaintext;
 *
 *   struct {
 *       HandshakeType msg_type;                 client_hello(1), server_hello(2)
 *       uint24 length;
 *       select (Handshake.msg_type) { ... };
 *   } Handshake;
 *
 *   struct {
 *       ProtocolVersion legacy_version = 0x0303;
 *       Random random;                          32 octets
 *       opaque legacy_session_id<0..32>;
 *       CipherSuite cipher_suites<2..2^16-2>;   ServerHello: one CipherSuite
 *       opaque legacy_compression_methods<1..2^8-1>;  ServerHello: one uint8, 0
 *       Extension extensions<8..2^16-1>;
 *   } ClientHello;
 *
 *   struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension;
 *
 * Every <..> vector carries its length first; the writer reserves the length field and
 * fills it once the body is written (pcap__wr_mark / pcap__wr_fill*).
 */
#include "pcap/tls.h"

#include <string.h>

#include "pcap/wire.h"

enum {
    CT_ALERT = 21,
    CT_HANDSHAKE = 22,
    CT_APPLICATION_DATA = 23,
    HS_CLIENT_HELLO = 1,
    HS_SERVER_HELLO = 2,
    EXT_SERVER_NAME = 0,
    EXT_SUPPORTED_GROUPS = 10,
    EXT_SIGNATURE_ALGORITHMS = 13,
    EXT_ALPN = 16,
    EXT_SUPPORTED_VERSIONS = 43,
    EXT_KEY_SHARE = 51,
    SNI_HOST_NAME = 0,
    GROUP_X25519 = 0x001d,
    GROUP_SECP256R1 = 0x0017,
};

#define TLS10         0x0301u
#define TLS12         0x0303u
#define TLS13         0x0304u
#define KEY_SHARE_LEN 32u
#define SNI_MAX       255u

/* What a current browser or SDK offers first: the three TLS 1.3 suites, then two 1.2
 * ECDHE suites for servers that stop at 1.2. */
static const uint16_t client_suites[] = {0x1301, 0x1302, 0x1303, 0xc02f, 0xc030};
static const uint16_t signature_algorithms[] = {0x0403, 0x0804, 0x0401};
static const char *const alpn_protocols[] = {"h2", "http/1.1"};

static size_t record_begin(PcapWriter *w, uint8_t type, uint16_t version)
{
    pcap__wr8(w, type);
    pcap__wr16(w, version);
    return pcap__wr_mark(w, 2);
}

/* An x25519 public key is 32 arbitrary-looking octets; derive them from the random so
 * captures stay reproducible. */
static void put_key_share(PcapWriter *w, const uint8_t random[32], uint8_t salt)
{
    pcap__wr16(w, GROUP_X25519);
    pcap__wr16(w, KEY_SHARE_LEN);
    uint8_t *key = pcap__wr_take(w, KEY_SHARE_LEN);
    if (!key)
        return;
    for (size_t i = 0; i < KEY_SHARE_LEN; i++)
        key[i] = (uint8_t)(random[KEY_SHARE_LEN - 1 - i] ^ salt ^ (uint8_t)(i * 37u));
}

static void put_client_extensions(PcapWriter *w, const char *sni, size_t sni_len,
                                  const uint8_t random[32])
{
    size_t exts = pcap__wr_mark(w, 2);
    if (sni_len) {
        pcap__wr16(w, EXT_SERVER_NAME);
        size_t ext = pcap__wr_mark(w, 2);
        size_t list = pcap__wr_mark(w, 2);
        pcap__wr8(w, SNI_HOST_NAME);
        size_t host = pcap__wr_mark(w, 2);
        pcap__wr_bytes(w, sni, sni_len);
        pcap__wr_fill16(w, host);
        pcap__wr_fill16(w, list);
        pcap__wr_fill16(w, ext);
    }

    pcap__wr16(w, EXT_SUPPORTED_GROUPS);
    size_t ext = pcap__wr_mark(w, 2);
    size_t list = pcap__wr_mark(w, 2);
    pcap__wr16(w, GROUP_X25519);
    pcap__wr16(w, GROUP_SECP256R1);
    pcap__wr_fill16(w, list);
    pcap__wr_fill16(w, ext);

    pcap__wr16(w, EXT_SIGNATURE_ALGORITHMS);
    ext = pcap__wr_mark(w, 2);
    list = pcap__wr_mark(w, 2);
    for (size_t i = 0; i < sizeof signature_algorithms / sizeof *signature_algorithms; i++)
        pcap__wr16(w, signature_algorithms[i]);
    pcap__wr_fill16(w, list);
    pcap__wr_fill16(w, ext);

    pcap__wr16(w, EXT_ALPN);
    ext = pcap__wr_mark(w, 2);
    list = pcap__wr_mark(w, 2);
    for (size_t i = 0; i < sizeof alpn_protocols / sizeof *alpn_protocols; i++) {
        size_t n = strlen(alpn_protocols[i]);
        pcap__wr8(w, (uint8_t)n);
        pcap__wr_bytes(w, alpn_protocols[i], n);
    }
    pcap__wr_fill16(w, list);
    pcap__wr_fill16(w, ext);

    pcap__wr16(w, EXT_SUPPORTED_VERSIONS);
    ext = pcap__wr_mark(w, 2);
    pcap__wr8(w, 4); /* a uint8-length list of two versions */
    pcap__wr16(w, TLS13);
    pcap__wr16(w, TLS12);
    pcap__wr_fill16(w, ext);

    pcap__wr16(w, EXT_KEY_SHARE);
    ext = pcap__wr_mark(w, 2);
    list = pcap__wr_mark(w, 2);
    put_key_share(w, random, 0x5c);
    pcap__wr_fill16(w, list);
    pcap__wr_fill16(w, ext);

    pcap__wr_fill16(w, exts);
}

size_t pcap_tls_client_hello(uint8_t *buf, size_t cap, const char *sni, const uint8_t random[32])
{
    if (!buf || !random)
        return 0;
    size_t sni_len = sni ? strnlen(sni, SNI_MAX + 1) : 0;
    if (sni_len > SNI_MAX)
        return 0;
    PcapWriter w = {.buf = buf, .cap = cap};
    /* RFC 8446 5.1: a first ClientHello may say 0x0301 for the sake of old middleboxes. */
    size_t record = record_begin(&w, CT_HANDSHAKE, TLS10);
    pcap__wr8(&w, HS_CLIENT_HELLO);
    size_t body = pcap__wr_mark(&w, 3);
    pcap__wr16(&w, TLS12);
    pcap__wr_bytes(&w, random, 32);
    pcap__wr8(&w, 0); /* empty legacy_session_id */
    pcap__wr16(&w, (uint16_t)sizeof client_suites);
    for (size_t i = 0; i < sizeof client_suites / sizeof *client_suites; i++)
        pcap__wr16(&w, client_suites[i]);
    pcap__wr8(&w, 1); /* one compression method: null */
    pcap__wr8(&w, 0);
    put_client_extensions(&w, sni, sni_len, random);
    pcap__wr_fill24(&w, body);
    pcap__wr_fill16(&w, record);
    return w.bad ? 0 : w.pos;
}

size_t pcap_tls_server_hello(uint8_t *buf, size_t cap, const uint8_t random[32])
{
    if (!buf || !random)
        return 0;
    PcapWriter w = {.buf = buf, .cap = cap};
    size_t record = record_begin(&w, CT_HANDSHAKE, TLS12);
    pcap__wr8(&w, HS_SERVER_HELLO);
    size_t body = pcap__wr_mark(&w, 3);
    pcap__wr16(&w, TLS12);
    pcap__wr_bytes(&w, random, 32);
    pcap__wr8(&w, 0);       /* echoes the client's empty legacy_session_id */
    pcap__wr16(&w, 0x1301); /* TLS_AES_128_GCM_SHA256 */
    pcap__wr8(&w, 0);       /* compression: null */
    size_t exts = pcap__wr_mark(&w, 2);
    pcap__wr16(&w, EXT_SUPPORTED_VERSIONS);
    pcap__wr16(&w, 2);
    pcap__wr16(&w, TLS13);
    pcap__wr16(&w, EXT_KEY_SHARE);
    size_t ext = pcap__wr_mark(&w, 2);
    put_key_share(&w, random, 0xa3);
    pcap__wr_fill16(&w, ext);
    pcap__wr_fill16(&w, exts);
    pcap__wr_fill24(&w, body);
    pcap__wr_fill16(&w, record);
    return w.bad ? 0 : w.pos;
}

/* splitmix64: cheap, and the same octets on every platform for a given seed. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

size_t pcap_tls_application_data(uint8_t *buf, size_t cap, size_t len, uint64_t fill_seed)
{
    if (!buf || len > PCAP_TLS_RECORD_MAX)
        return 0;
    PcapWriter w = {.buf = buf, .cap = cap};
    size_t record = record_begin(&w, CT_APPLICATION_DATA, TLS12);
    uint8_t *p = pcap__wr_take(&w, len);
    if (!p)
        return 0;
    uint64_t state = fill_seed;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v = splitmix64(&state);
        pcap__put32(p + i, (uint32_t)(v >> 32));
        pcap__put32(p + i + 4, (uint32_t)v);
    }
    if (i < len) {
        uint64_t v = splitmix64(&state);
        for (; i < len; i++, v >>= 8)
            p[i] = (uint8_t)v;
    }
    pcap__wr_fill16(&w, record);
    return w.bad ? 0 : w.pos;
}

size_t pcap_tls_alert(uint8_t *buf, size_t cap, uint8_t level, uint8_t description)
{
    if (!buf)
        return 0;
    PcapWriter w = {.buf = buf, .cap = cap};
    size_t record = record_begin(&w, CT_ALERT, TLS12);
    pcap__wr8(&w, level);
    pcap__wr8(&w, description);
    pcap__wr_fill16(&w, record);
    return w.bad ? 0 : w.pos;
}
