// SPDX-License-Identifier: MIT
#include "fleet/publish_cli.h"

#include "bundle/bundle.h"
#include "bundle/util.h"
#include "core/err.h"
#include "core/num.h"
#include "fleet/fleet_settings.h"
#include "fleet/kv_item.h"
#include "fleet/nats_link.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUBLISH_MAX_BYTES ((size_t)64 << 20) /* the server's max_payload refuses sooner */

struct publish_opts {
	char urls_buf[4096];
	const char *urls[FLEET_MAX_SERVERS];
	int n_urls;
	const char *bucket, *token, *keyauth;
	unsigned replicas;
	uint32_t ttl;
};

static const char bundle_usage[] =
	"usage: edgetrackctl bundle publish --nats URL[,URL...] [--bucket NAME] [--replicas N] FILE\n";
static const char challenge_usage[] =
	"usage: edgetrackctl challenge publish --nats URL[,URL...] --token T --key-authz KA\n"
	"           [--ttl S] [--bucket NAME] [--replicas N]\n";

/* Options both commands take, and --token, --key-authz, --ttl for challenges. */
static int parse_opts(int argc, char **argv, struct publish_opts *o, const char *cmd,
		      const char *usage)
{
	static const struct option opts[] = {
		{ "nats", required_argument, NULL, 'n' }, { "bucket", required_argument, NULL, 'b' },
		{ "replicas", required_argument, NULL, 'r' },
		{ "token", required_argument, NULL, 't' },
		{ "key-authz", required_argument, NULL, 'k' },
		{ "ttl", required_argument, NULL, 'T' }, { 0 },
	};
	char why[128];
	uint64_t v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': snprintf(o->urls_buf, sizeof(o->urls_buf), "%s", optarg); break;
		case 'b': o->bucket = optarg; break;
		case 'r': if (num_parse_u64(optarg, 5, &v) || v < 1)
				return err_usage(cmd, "--replicas: 1 to 5", usage);
			  o->replicas = (unsigned)v; break;
		case 't': o->token = optarg; break;
		case 'k': o->keyauth = optarg; break;
		case 'T':
			if (kv_challenge_ttl(optarg, &o->ttl, why, sizeof(why)))
				return err_usage(cmd, why, usage);
			break;
		default: return err_usage(cmd, NULL, usage);
		}
	}
	if (!fleet_name_valid(o->bucket))
		return err_usage(cmd, "--bucket: 1 to 64 letters, digits, '_' or '-'", usage);
	if (o->replicas < 1 || o->replicas > 5)
		return err_usage(cmd, "--replicas: 1 to 5", usage);
	o->n_urls = nats_link_split_urls(o->urls_buf, o->urls, FLEET_MAX_SERVERS);
	return o->n_urls ? 0 : err_usage(cmd, "--nats URL is required", usage);
}

/* Puts value under key; prints nothing. 0 and the revision, or 1 (reported). */
static int put(const struct publish_opts *o, int64_t max_age_s, const char *key,
	       const void *value, size_t len, uint64_t *rev, const char *cmd)
{
	struct nats_link_kv l;
	char err[512];
	natsStatus s;
	int rc = 0;

	if (nats_link_kv_open(&l, o->urls, o->n_urls, o->bucket, o->replicas, max_age_s, true, err,
			      sizeof(err))) {
		rc = 1;
	} else if ((s = kvStore_Put(rev, l.kv, key, value, (int)len)) != NATS_OK) {
		nats_link_err(err, sizeof(err), "put", s);
		rc = 1;
	}
	if (rc)
		fprintf(stderr, "%s: %s\n", cmd, err);
	nats_link_kv_close(&l);
	return rc;
}

int bundle_publish_main(int argc, char **argv)
{
	static const char cmd[] = "bundle publish";
	struct publish_opts o = { .bucket = FLEET_BUNDLE_BUCKET_DEFAULT, .replicas = 1 };
	unsigned char *file;
	uint64_t serial, rev = 0;
	size_t len;
	char err[512];
	int rc = parse_opts(argc, argv, &o, cmd, bundle_usage);

	if (rc)
		return rc;
	if (optind != argc - 1 || o.token || o.keyauth || o.ttl)
		return err_usage(cmd, "expected the options of bundles and one FILE", bundle_usage);
	file = util_read_file(argv[optind], PUBLISH_MAX_BYTES, &len, err, sizeof(err));
	if (!file || bundle_peek(file, len, &serial, err, sizeof(err))) {
		fprintf(stderr, "%s: %s: %s\n", cmd, argv[optind], err);
		free(file);
		return 1;
	}
	rc = put(&o, 0, KV_BUNDLE_KEY, file, len, &rev, cmd);
	free(file);
	if (!rc)
		printf("published serial=%" PRIu64 " revision=%" PRIu64 "\n", serial, rev);
	return rc;
}

int challenge_publish_main(int argc, char **argv)
{
	static const char cmd[] = "challenge publish";
	struct publish_opts o = { .bucket = FLEET_CHALLENGE_BUCKET_DEFAULT, .replicas = 1,
				  .ttl = KV_CHALLENGE_TTL_DEFAULT };
	uint64_t expires, rev = 0;
	char err[256], *value;
	int rc = parse_opts(argc, argv, &o, cmd, challenge_usage);

	if (rc)
		return rc;
	if (optind != argc || !o.token || !o.keyauth)
		return err_usage(cmd, "--token and --key-authz are required", challenge_usage);
	expires = (uint64_t)time(NULL) + o.ttl;
	value = kv_challenge_json(o.token, o.keyauth, expires, err, sizeof(err));
	if (!value) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return 1;
	}
	rc = put(&o, KV_CHALLENGE_TTL_MAX, o.token, value, strlen(value), &rev, cmd);
	free(value);
	if (!rc)
		printf("published token=%s revision=%" PRIu64 " expires_at=%" PRIu64 "\n", o.token,
		       rev, expires);
	return rc;
}
