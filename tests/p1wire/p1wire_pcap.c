/* p1wire_pcap: one TCP connection as a libpcap file (see p1wire_pcap.h). Frames are built
 * by hand because no packaged library writes synthetic TCP streams (libpcap only dumps
 * packets it is given). */
#include "p1wire_pcap.h"

#include <string.h>

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_PSH = 0x08, TCP_ACK = 0x10 };
#define MSS 1400u

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

/* Little-endian 32-bit word of the pcap headers (we write the file in that byte order). */
static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* RFC 1071 one's-complement sum, continued from sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static int frame(struct p1wire_pcap *w, int from, uint8_t flags, const uint8_t *data, size_t len)
{
    uint8_t pkt[14 + 20 + 20 + MSS];
    int to = !from;
    if (len > MSS)
        return -1;
    /* Ethernet: locally administered MACs ending in the side number. */
    static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}};
    memcpy(pkt, mac[to], 6);
    memcpy(pkt + 6, mac[from], 6);
    pkt[12] = 0x08;
    pkt[13] = 0x00;
    uint8_t *ip = pkt + 14, *tcp = ip + 20;
    size_t iplen = 20 + 20 + len;
    memset(ip, 0, 40);
    ip[0] = 0x45;
    put16(ip + 2, (uint32_t)iplen);
    ip[6] = 0x40; /* don't fragment */
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, w->ip[from]);
    put32(ip + 16, w->ip[to]);
    put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    put16(tcp, w->port[from]);
    put16(tcp + 2, w->port[to]);
    put32(tcp + 4, w->seq[from]);
    put32(tcp + 8, (flags & TCP_ACK) ? w->seq[to] : 0);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    if (len)
        memcpy(tcp + 20, data, len);
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, (uint32_t)(20 + len));
    put16(tcp + 16, csum_fold(csum_add(csum_add(0, pseudo, 12), tcp, 20 + len)));

    w->usec += 1000;
    uint8_t rec[16];
    /* 2026-11-29 00:00 UTC plus the fake clock: the file is the same on every run. */
    le32(rec, 1795910400u + w->usec / 1000000u);
    le32(rec + 4, w->usec % 1000000u);
    le32(rec + 8, (uint32_t)(14 + iplen));
    le32(rec + 12, (uint32_t)(14 + iplen));
    if (fwrite(rec, 1, 16, w->f) != 16 || fwrite(pkt, 1, 14 + iplen, w->f) != 14 + iplen)
        return -1;
    w->seq[from] += (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) ? 1u : 0u);
    return 0;
}

int p1wire_pcap_open(struct p1wire_pcap *w, const char *path)
{
    memset(w, 0, sizeof *w);
    w->ip[0] = 0x0a000001; /* 10.0.0.1, the sending MTA */
    w->ip[1] = 0x0a000002;
    w->port[0] = 40102;
    w->port[1] = 102;
    w->seq[0] = 1000;
    w->seq[1] = 5000;
    w->f = fopen(path, "wb");
    if (!w->f)
        return -1;
    uint8_t hdr[24] = {0};
    le32(hdr, 0xa1b2c3d4);
    hdr[4] = 2; /* version 2.4 */
    hdr[6] = 4;
    le32(hdr + 16, 65535);
    le32(hdr + 20, 1); /* LINKTYPE_ETHERNET */
    if (fwrite(hdr, 1, sizeof hdr, w->f) != sizeof hdr || frame(w, 0, TCP_SYN, NULL, 0) ||
        frame(w, 1, TCP_SYN | TCP_ACK, NULL, 0) || frame(w, 0, TCP_ACK, NULL, 0)) {
        fclose(w->f);
        w->f = NULL;
        return -1;
    }
    return 0;
}

int p1wire_pcap_send(struct p1wire_pcap *w, int from_server, const void *data, size_t len)
{
    const uint8_t *p = data;
    int from = from_server ? 1 : 0;
    while (len > 0) {
        size_t n = len < MSS ? len : MSS;
        if (frame(w, from, TCP_PSH | TCP_ACK, p, n) || frame(w, !from, TCP_ACK, NULL, 0))
            return -1;
        p += n;
        len -= n;
    }
    return 0;
}

int p1wire_pcap_close(struct p1wire_pcap *w)
{
    int rc = 0;
    if (frame(w, 0, TCP_FIN | TCP_ACK, NULL, 0) || frame(w, 1, TCP_FIN | TCP_ACK, NULL, 0) ||
        frame(w, 0, TCP_ACK, NULL, 0))
        rc = -1;
    if (fclose(w->f) != 0)
        rc = -1;
    w->f = NULL;
    return rc;
}
