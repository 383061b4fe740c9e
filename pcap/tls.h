/*
 * tls.h — TLS records with enough of the handshake for a dissector to name the service a
 * flow was for (the SNI) and to see the version negotiated; the rest is opaque bytes.
 *
 * The ClientHello offers TLS 1.3 and 1.2 and the ServerHello picks 1.3, so everything
 * after it is application data, as on the wire. No cryptography: key shares and record
 * contents are deterministic filler. Each builder writes one record (5-octet header
 * included) into a caller-owned buffer and returns its length, or 0 when it does not
 * fit in cap or the arguments are out of range. Nothing here allocates.
 */
#ifndef VNETSIM_PCAP_TLS_H
#define VNETSIM_PCAP_TLS_H

#include <stddef.h>
#include <stdint.h>

#define PCAP_TLS_PORT 443
/* Largest TLSCiphertext fragment (RFC 8446 5.2): 2^14 + 256. */
#define PCAP_TLS_RECORD_MAX 16640u

#define PCAP_TLS_ALERT_WARNING 1
#define PCAP_TLS_ALERT_FATAL   2

/* Handshake record holding a ClientHello with server_name (RFC 6066 3) when sni is
 * neither NULL nor "", supported_versions (1.3, 1.2), supported_groups,
 * signature_algorithms, key_share (x25519) and ALPN ("h2", "http/1.1"). Returns 0 also
 * when sni is longer than 255 octets. */
size_t pcap_tls_client_hello(uint8_t *buf, size_t cap, const char *sni, const uint8_t random[32]);

/* Handshake record holding a ServerHello that selects TLS 1.3 with TLS_AES_128_GCM_SHA256
 * and an x25519 key share. */
size_t pcap_tls_server_hello(uint8_t *buf, size_t cap, const uint8_t random[32]);

/* Application data record whose fragment is len octets (len <= PCAP_TLS_RECORD_MAX), so
 * the record takes 5 + len; the octets are a function of fill_seed alone. */
size_t pcap_tls_application_data(uint8_t *buf, size_t cap, size_t len, uint64_t fill_seed);

/* Alert record (level PCAP_TLS_ALERT_*, description as in RFC 8446 6), in clear text as
 * a server sends it when the handshake fails. */
size_t pcap_tls_alert(uint8_t *buf, size_t cap, uint8_t level, uint8_t description);

#endif
