/* pcap_writer: test helper that writes a classic libpcap file of one TCP connection
 * (Ethernet/IPv4/TCP with correct checksums, three-way handshake, sequence numbers that
 * follow the data), so tshark can dissect what our encoders produced. Used by the asn1
 * tests to frame P1 bind PDUs in TPKT/COTP/session on port 102; usable for any TCP
 * protocol. */
#ifndef PCAP_WRITER_H
#define PCAP_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pcapw {
    FILE *f;
    uint32_t ip[2];       /* [0] client, [1] server, host order */
    uint16_t port[2];
    uint32_t seq[2];      /* next sequence number each side sends */
    uint32_t usec;        /* fake clock */
};

/* Create path and write the file header and the handshake client:cport -> server:sport.
 * 0 or -1 (errno set). */
int pcapw_open(struct pcapw *w, const char *path, uint32_t client_ip, uint16_t cport,
               uint32_t server_ip, uint16_t sport);
/* One data segment (PSH|ACK) from the client (from_server 0) or the server (1), followed
 * by the peer's ACK. Payloads over 1400 bytes are split into several segments. */
int pcapw_send(struct pcapw *w, int from_server, const void *data, size_t len);
/* FIN exchange and close. 0 or -1. */
int pcapw_close(struct pcapw *w);

#endif
