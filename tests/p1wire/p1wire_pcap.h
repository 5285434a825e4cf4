/* p1wire_pcap: writes one TCP connection (Ethernet/IPv4/TCP, correct checksums, handshake,
 * per-segment ACKs, FIN exchange) into a classic libpcap file, so tshark dissects the OSI
 * stack we put on port 102. Written for tests/p1wire because tests/asn1's pcap_writer is
 * compiled into its own test and not exported as a library. */
#ifndef P1WIRE_PCAP_H
#define P1WIRE_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct p1wire_pcap {
    FILE *f;
    uint32_t ip[2];   /* [0] client, [1] server (host order) */
    uint16_t port[2];
    uint32_t seq[2];  /* next sequence number each side sends */
    uint32_t usec;    /* fake clock, 1 ms per frame */
};

/* Create path, write the file header and the three-way handshake client -> server:102.
 * 0 or -1 (errno set). */
int p1wire_pcap_open(struct p1wire_pcap *w, const char *path);
/* Data from the client (from_server 0) or the server (1): PSH|ACK segments of at most
 * 1400 bytes, each followed by the peer's ACK. 0 or -1. */
int p1wire_pcap_send(struct p1wire_pcap *w, int from_server, const void *data, size_t len);
/* FIN exchange, close the file. 0 or -1. */
int p1wire_pcap_close(struct p1wire_pcap *w);

#endif
