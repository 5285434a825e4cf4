/* pcap_writer: libpcap file of one TCP connection for tshark checks; see pcap_writer.h.
 * Written here (not libpcap) because the test needs only a few fixed headers and libpcap
 * is not a dependency of the project. */
#include "pcap_writer.h"

#include <string.h>

#define MSS 1400

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* One Ethernet/IPv4/TCP frame. */
static int frame(struct pcapw *w, int from, uint8_t flags, const uint8_t *data, size_t len)
{
    uint8_t pkt[14 + 20 + 20 + MSS];
    int to = !from;
    size_t ip_len = 20 + 20 + len;
    if (len > MSS)
        return -1;
    memset(pkt, 0, 54);
    /* Ethernet: locally administered MACs 02:00:00:00:00:01/02, IPv4 */
    static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}};
    memcpy(pkt, mac[to], 6);
    memcpy(pkt + 6, mac[from], 6);
    put16(pkt + 12, 0x0800);
    uint8_t *ip = pkt + 14;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)ip_len);
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, w->ip[from]);
    put32(ip + 16, w->ip[to]);
    put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    uint8_t *tcp = ip + 20;
    put16(tcp, w->port[from]);
    put16(tcp + 2, w->port[to]);
    put32(tcp + 4, w->seq[from]);
    put32(tcp + 8, (flags & 0x10) ? w->seq[to] : 0);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    if (len)
        memcpy(tcp + 20, data, len);
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, (uint16_t)(20 + len));
    put16(tcp + 16, csum_fold(csum_add(csum_add(0, pseudo, 12), tcp, 20 + len)));

    uint8_t rec[16];
    w->usec += 1000;
    put32(rec, 1700000000u + w->usec / 1000000u);
    put32(rec + 4, w->usec % 1000000u);
    put32(rec + 8, (uint32_t)(14 + ip_len));
    put32(rec + 12, (uint32_t)(14 + ip_len));
    /* pcap record headers are in the writer's byte order: we wrote the magic big-endian. */
    if (fwrite(rec, 1, 16, w->f) != 16 || fwrite(pkt, 1, 14 + ip_len, w->f) != 14 + ip_len)
        return -1;
    w->seq[from] += (uint32_t)len + ((flags & 0x03) ? 1u : 0u);   /* SYN and FIN count one */
    return 0;
}

int pcapw_open(struct pcapw *w, const char *path, uint32_t client_ip, uint16_t cport,
               uint32_t server_ip, uint16_t sport)
{
    memset(w, 0, sizeof *w);
    w->f = fopen(path, "wb");
    if (!w->f)
        return -1;
    w->ip[0] = client_ip;
    w->ip[1] = server_ip;
    w->port[0] = cport;
    w->port[1] = sport;
    w->seq[0] = 1000;
    w->seq[1] = 5000;
    /* Big-endian classic header: magic, v2.4, zone 0, sigfigs 0, snaplen, Ethernet. */
    uint8_t hdr[24] = {0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4};
    put32(hdr + 16, 65535);
    put32(hdr + 20, 1);
    if (fwrite(hdr, 1, 24, w->f) != 24)
        return -1;
    if (frame(w, 0, 0x02, NULL, 0) || frame(w, 1, 0x12, NULL, 0) || frame(w, 0, 0x10, NULL, 0))
        return -1;
    return 0;
}

int pcapw_send(struct pcapw *w, int from_server, const void *data, size_t len)
{
    const uint8_t *p = data;
    int from = from_server ? 1 : 0;
    while (len) {
        size_t n = len > MSS ? MSS : len;
        if (frame(w, from, 0x18, p, n) || frame(w, !from, 0x10, NULL, 0))
            return -1;
        p += n;
        len -= n;
    }
    return 0;
}

int pcapw_close(struct pcapw *w)
{
    int rc = 0;
    if (frame(w, 0, 0x11, NULL, 0) || frame(w, 1, 0x11, NULL, 0) || frame(w, 0, 0x10, NULL, 0))
        rc = -1;
    if (fclose(w->f) != 0)
        rc = -1;
    w->f = NULL;
    return rc;
}
