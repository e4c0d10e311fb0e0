// SPDX-License-Identifier: MIT
/*
 * SYN flood generator for the XDP tests: raw IPv4 TCP SYNs with valid checksums from one
 * source address, a new source port per packet.
 *   synflood -s SRC -d DST -p PORT -n COUNT [-r PACKETS_PER_SECOND]
 * Prints "sent N". Only for test network namespaces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct opts {
	struct in_addr src, dst;
	uint16_t port;
	unsigned long count, pps;
};

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* 20-byte IPv4 header + 20-byte TCP SYN. */
static void build_syn(uint8_t *b, const struct opts *o, uint16_t sport, uint32_t seq)
{
	uint8_t pseudo[12];
	uint32_t sum;

	memset(b, 0, 40);
	b[0] = 0x45;
	put16(b + 2, 40);
	put16(b + 4, (uint16_t)seq);
	b[6] = 0x40; /* DF */
	b[8] = 64;
	b[9] = IPPROTO_TCP;
	memcpy(b + 12, &o->src, 4);
	memcpy(b + 16, &o->dst, 4);
	put16(b + 10, csum_fold(csum_add(0, b, 20)));

	put16(b + 20, sport);
	put16(b + 22, o->port);
	b[24] = (uint8_t)(seq >> 24), b[25] = (uint8_t)(seq >> 16);
	b[26] = (uint8_t)(seq >> 8), b[27] = (uint8_t)seq;
	b[32] = 5 << 4;
	b[33] = 0x02; /* SYN */
	put16(b + 34, 64240);
	memcpy(pseudo, &o->src, 4);
	memcpy(pseudo + 4, &o->dst, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	put16(pseudo + 10, 20);
	sum = csum_add(csum_add(0, pseudo, 12), b + 20, 20);
	put16(b + 36, csum_fold(sum));
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	while ((c = getopt(argc, argv, "s:d:p:n:r:")) != -1) {
		switch (c) {
		case 's':
			if (inet_pton(AF_INET, optarg, &o->src) != 1)
				return -1;
			break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &o->dst) != 1)
				return -1;
			break;
		case 'p':
			o->port = (uint16_t)strtoul(optarg, NULL, 10);
			break;
		case 'n':
			o->count = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			o->pps = strtoul(optarg, NULL, 10);
			break;
		default:
			return -1;
		}
	}
	return o->src.s_addr && o->dst.s_addr && o->port && o->count ? 0 : -1;
}

static void pace(const struct opts *o, unsigned long i, const struct timespec *t0)
{
	struct timespec now, due;
	uint64_t at;

	if (!o->pps)
		return;
	at = (uint64_t)i * 1000000000ull / o->pps;
	due.tv_sec = t0->tv_sec + (time_t)(at / 1000000000ull);
	due.tv_nsec = t0->tv_nsec + (long)(at % 1000000000ull);
	if (due.tv_nsec >= 1000000000L)
		due.tv_sec++, due.tv_nsec -= 1000000000L;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < due.tv_sec || (now.tv_sec == due.tv_sec && now.tv_nsec < due.tv_nsec))
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
}

int main(int argc, char **argv)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct timespec t0;
	unsigned long i, sent = 0;
	uint8_t pkt[40];
	struct opts o;
	int one = 1, fd;

	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: synflood -s SRC -d DST -p PORT -n COUNT [-r PPS]\n");
		return 2;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0) {
		perror("synflood: raw socket");
		return 1;
	}
	to.sin_addr = o.dst;
	srand((unsigned)getpid());
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < o.count; i++) {
		/* Source ports cycle through 1024..65023 so every SYN is a new flow. */
		build_syn(pkt, &o, (uint16_t)(1024 + (i % 64000)), (uint32_t)rand());
		pace(&o, i, &t0);
		if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(pkt))
			sent++;
		else if (errno != ENOBUFS)
			perror("synflood: sendto");
	}
	close(fd);
	printf("sent %lu\n", sent);
	return sent == o.count ? 0 : 1;
}
