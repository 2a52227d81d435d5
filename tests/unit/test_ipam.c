/* SPDX-License-Identifier: MIT */
/* Unit tests of hutch's IPv4 address management (src/lib/ipam.c): subnets, allocation, the
 * config and lease file texts, and the lease file on disk. No privileges needed. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipam.h"

#define A(a, b, c, d)                                                                              \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static void test_parse_cidr_accepts_networks(void **state)
{
    (void)state;
    struct ipam_subnet s;
    assert_int_equal(ipam_parse_cidr("10.88.0.0/16", &s), 0);
    assert_int_equal(s.net, A(10, 88, 0, 0));
    assert_int_equal(s.prefix, 16);
    assert_int_equal(ipam_parse_cidr("192.168.7.4/30", &s), 0);
    assert_int_equal(s.net, A(192, 168, 7, 4));
    assert_int_equal(ipam_parse_cidr("10.0.0.0/8", &s), 0);
    assert_int_equal(s.prefix, 8);
}

static void test_parse_cidr_refuses_bad_input(void **state)
{
    (void)state;
    struct ipam_subnet s;
    const char *bad[] = {"", "10.88.0.0", "10.88.0.1/16" /* host bits */, "10.88.0.0/31",
                         "10.88.0.0/32", "10.0.0.0/7", "10.88.0.0/", "10.88.0/16",
                         "256.0.0.0/16", "10.88.0.0/16x", "10.88.0.0/016 ", "a.b.c.d/8",
                         "1.2.3.4.5/8", "10.88.0.0/99", "1000.0.0.0/8", " 10.88.0.0/16"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ipam_parse_cidr(bad[i], &s) != -EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
    }
}

static void test_parse_and_format_addr(void **state)
{
    (void)state;
    uint32_t a;
    char out[16];
    assert_int_equal(ipam_parse_addr("255.254.0.9", &a), 0);
    ipam_format_addr(a, out);
    assert_string_equal(out, "255.254.0.9");
    assert_int_equal(ipam_parse_addr("1.2.3", &a), -EINVAL);
    assert_int_equal(ipam_parse_addr("1.2.3.4 ", &a), -EINVAL);
}

static void test_capacity_and_gateway(void **state)
{
    (void)state;
    struct ipam_subnet s;
    assert_int_equal(ipam_parse_cidr("10.99.0.0/30", &s), 0);
    assert_int_equal(ipam_capacity(&s, false), 2);
    assert_int_equal(ipam_capacity(&s, true), 1);
    assert_int_equal(ipam_gateway(&s), A(10, 99, 0, 1));
    assert_int_equal(ipam_parse_cidr("10.88.0.0/16", &s), 0);
    assert_int_equal(ipam_capacity(&s, true), 65533);
}

static void test_alloc_lowest_free_skips_gateway(void **state)
{
    (void)state;
    struct ipam_subnet s;
    struct ipam_table t = {0};
    uint32_t a;
    assert_int_equal(ipam_parse_cidr("10.88.0.0/16", &s), 0);
    assert_int_equal(ipam_alloc(&s, true, &t, &a), 0);
    assert_int_equal(a, A(10, 88, 0, 2));
    assert_int_equal(ipam_alloc(&s, false, &t, &a), 0);
    assert_int_equal(a, A(10, 88, 0, 1));
    /* leases out of order, with a hole at .3 */
    assert_int_equal(ipam_table_add(&t, A(10, 88, 0, 4), "c", "h", false), 0);
    assert_int_equal(ipam_table_add(&t, A(10, 88, 0, 2), "a", "h", false), 0);
    assert_int_equal(ipam_alloc(&s, true, &t, &a), 0);
    assert_int_equal(a, A(10, 88, 0, 3));
    assert_int_equal(ipam_table_add(&t, A(10, 88, 0, 3), "b", "h", false), 0);
    assert_int_equal(ipam_alloc(&s, true, &t, &a), 0);
    assert_int_equal(a, A(10, 88, 0, 5));
    ipam_table_free(&t);
}

static void test_alloc_shared_and_foreign_leases(void **state)
{
    (void)state;
    struct ipam_subnet s;
    struct ipam_table t = {0};
    uint32_t a;
    assert_int_equal(ipam_parse_cidr("10.1.0.0/24", &s), 0);
    /* a sandbox=ID joiner shares an address: duplicates count once */
    assert_int_equal(ipam_table_add(&t, A(10, 1, 0, 2), "a", "h", false), 0);
    assert_int_equal(ipam_table_add(&t, A(10, 1, 0, 2), "joiner", "h", false), 0);
    /* a lease outside the subnet (the config changed) does not get in the way */
    assert_int_equal(ipam_table_add(&t, A(10, 2, 0, 3), "old", "h", false), 0);
    assert_int_equal(ipam_alloc(&s, true, &t, &a), 0);
    assert_int_equal(a, A(10, 1, 0, 3));
    ipam_table_free(&t);
}

static void test_alloc_full_subnet(void **state)
{
    (void)state;
    struct ipam_subnet s;
    struct ipam_table t = {0};
    uint32_t a;
    assert_int_equal(ipam_parse_cidr("10.99.0.0/30", &s), 0);
    assert_int_equal(ipam_alloc(&s, false, &t, &a), 0);
    assert_int_equal(a, A(10, 99, 0, 1));
    assert_int_equal(ipam_table_add(&t, a, "one", "h", false), 0);
    assert_int_equal(ipam_alloc(&s, false, &t, &a), 0);
    assert_int_equal(a, A(10, 99, 0, 2));
    assert_int_equal(ipam_table_add(&t, a, "two", "h", false), 0);
    /* never the broadcast address */
    assert_int_equal(ipam_alloc(&s, false, &t, &a), -ENOSPC);
    /* with a gateway, a /30 holds one sandbox */
    struct ipam_table empty = {0};
    assert_int_equal(ipam_alloc(&s, true, &empty, &a), 0);
    assert_int_equal(a, A(10, 99, 0, 2));
    assert_true(ipam_table_remove(&t, "one"));
    assert_int_equal(ipam_alloc(&s, false, &t, &a), 0);
    assert_int_equal(a, A(10, 99, 0, 1));
    ipam_table_free(&t);
}

static void test_alloc_top_of_address_space(void **state)
{
    (void)state;
    struct ipam_subnet s;
    struct ipam_table t = {0};
    uint32_t a;
    assert_int_equal(ipam_parse_cidr("255.255.255.252/30", &s), 0);
    assert_int_equal(ipam_table_add(&t, A(255, 255, 255, 253), "a", "h", false), 0);
    assert_int_equal(ipam_alloc(&s, false, &t, &a), 0);
    assert_int_equal(a, A(255, 255, 255, 254));
    assert_int_equal(ipam_table_add(&t, a, "b", "h", false), 0);
    assert_int_equal(ipam_alloc(&s, false, &t, &a), -ENOSPC);
    ipam_table_free(&t);
}

static void test_conf_parse(void **state)
{
    (void)state;
    struct ipam_conf c;
    char what[128] = "";
    assert_int_equal(ipam_conf_parse("# a comment\n\n subnet = 10.5.0.0/24 \nmtu=1400\n", &c,
                                     what, sizeof(what)),
                     0);
    assert_true(c.has_subnet);
    assert_int_equal(c.subnet.net, A(10, 5, 0, 0));
    assert_int_equal(c.subnet.prefix, 24);
    assert_int_equal(c.mtu, 1400);
    assert_int_equal(ipam_conf_parse("", &c, what, sizeof(what)), 0);
    assert_false(c.has_subnet);
    assert_int_equal(ipam_conf_parse("subnet=10.5.0.0/24\nsubnet=10.5.0.1/24\n", &c, what,
                                     sizeof(what)),
                     -EINVAL);
    assert_non_null(strstr(what, "line 2"));
    assert_int_equal(ipam_conf_parse("mtu=100\n", &c, what, sizeof(what)), -EINVAL);
    assert_int_equal(ipam_conf_parse("gateway=10.0.0.1\n", &c, what, sizeof(what)), -EINVAL);
    assert_int_equal(ipam_conf_parse("subnet\n", &c, what, sizeof(what)), -EINVAL);
}

static void test_table_round_trip(void **state)
{
    (void)state;
    struct ipam_table t = {0}, u;
    t.ifindex = 7;
    t.nat_table = true;
    assert_int_equal(ipam_table_add(&t, A(10, 88, 0, 2), "0123456789abcdef", "web-1", true), 0);
    assert_int_equal(ipam_table_add(&t, A(10, 88, 0, 3), "id2", "db.local", false), 0);
    t.netns_ino = 4026532999ULL;
    t.leases[1].hold_pid = 1234;
    t.leases[1].hold_fd = 7;
    struct buf b = {0};
    assert_int_equal(ipam_table_format(&t, &b), 0);
    assert_string_equal(b.data, "# hutch leases v1\nifindex 7\nnetns 4026532999\nnat 1\n"
                                "lease 10.88.0.2 0123456789abcdef web-1 nat\n"
                                "lease 10.88.0.3 id2 db.local hold=1234:7\n");
    assert_int_equal(ipam_table_parse(b.data, &u), 0);
    assert_int_equal(u.ifindex, 7);
    assert_true(u.nat_table);
    assert_int_equal(u.n, 2);
    assert_int_equal(u.leases[0].addr, A(10, 88, 0, 2));
    assert_string_equal(u.leases[0].id, "0123456789abcdef");
    assert_string_equal(u.leases[0].host, "web-1");
    assert_true(u.leases[0].nat);
    assert_false(u.leases[1].nat);
    assert_int_equal(u.netns_ino, 4026532999ULL);
    assert_int_equal(u.leases[0].hold_pid, 0);
    assert_int_equal(u.leases[0].hold_fd, -1);
    assert_int_equal(u.leases[1].hold_pid, 1234);
    assert_int_equal(u.leases[1].hold_fd, 7);
    assert_true(ipam_table_any_nat(&u));
    assert_non_null(ipam_table_find(&u, "id2"));
    assert_null(ipam_table_find(&u, "id3"));
    buf_free(&b);
    ipam_table_free(&t);
    ipam_table_free(&u);
}

static void test_table_parse_skips_torn_lines(void **state)
{
    (void)state;
    struct ipam_table t;
    assert_int_equal(ipam_table_parse("lease 10.0.0.2 a h\n"
                                      "lease 10.0.0.3 b\n"           /* no host */
                                      "lease 10.0.0 c h\n"           /* bad address */
                                      "lease 10.0.0.4 ../x h\n"      /* not a plain id */
                                      "lease 10.0.0.5 d h\x01\n"     /* control char */
                                      "garbage\n"
                                      "ifindex -3\n"
                                      "lease 10.0.0.6 e h nat\n"
                                      "lease 10.0.0.8 g h hold=0:3\n"     /* no pid 0 */
                                      "lease 10.0.0.9 i h hold=12\n"      /* no fd */
                                      "lease 10.0.0.10 j h hold=1:2 x\n"  /* unknown word */
                                      "lease 10.0.0.7 f",            /* torn at the end */
                                      &t),
                     0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.leases[0].id, "a");
    assert_string_equal(t.leases[1].id, "e");
    assert_int_equal(t.ifindex, 0);
    ipam_table_free(&t);
}

static void test_table_add_refuses_long_names(void **state)
{
    (void)state;
    struct ipam_table t = {0};
    char longid[IPAM_ID_MAX + 2];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    assert_int_equal(ipam_table_add(&t, 1, longid, "h", false), -EINVAL);
    assert_int_equal(t.n, 0);
    ipam_table_free(&t);
}

static void test_table_remove_all_of_an_id(void **state)
{
    (void)state;
    struct ipam_table t = {0};
    assert_int_equal(ipam_table_add(&t, 1, "a", "h", false), 0);
    assert_int_equal(ipam_table_add(&t, 2, "b", "h", false), 0);
    assert_int_equal(ipam_table_add(&t, 3, "a", "h", false), 0);
    assert_true(ipam_table_remove(&t, "a"));
    assert_int_equal(t.n, 1);
    assert_string_equal(t.leases[0].id, "b");
    assert_false(ipam_table_remove(&t, "a"));
    ipam_table_free(&t);
}

/* The lease file on disk: written, read back, removed when empty; the lock file stays. */
static void test_lease_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/hutch-test-ipam.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[256];
    snprintf(sub, sizeof(sub), "%s/net", dir);
    int lock = ipam_lock(sub, "bridge-x");
    assert_true(lock >= 0);
    struct ipam_table t;
    assert_int_equal(ipam_load(sub, "bridge-x", &t), 0);
    assert_int_equal(t.n, 0);
    assert_int_equal(ipam_table_add(&t, A(10, 0, 0, 2), "id1", "host1", false), 0);
    assert_int_equal(ipam_store(sub, "bridge-x", &t), 0);
    ipam_table_free(&t);
    assert_int_equal(ipam_load(sub, "bridge-x", &t), 0);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.leases[0].host, "host1");
    assert_true(ipam_table_remove(&t, "id1"));
    assert_int_equal(ipam_store(sub, "bridge-x", &t), 0);
    ipam_table_free(&t);
    char p[300];
    struct stat st;
    snprintf(p, sizeof(p), "%s/bridge-x.leases", sub);
    assert_int_equal(stat(p, &st), -1);
    snprintf(p, sizeof(p), "%s/bridge-x.lock", sub);
    assert_int_equal(stat(p, &st), 0);
    close(lock);
    unlink(p);
    rmdir(sub);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_cidr_accepts_networks),
        cmocka_unit_test(test_parse_cidr_refuses_bad_input),
        cmocka_unit_test(test_parse_and_format_addr),
        cmocka_unit_test(test_capacity_and_gateway),
        cmocka_unit_test(test_alloc_lowest_free_skips_gateway),
        cmocka_unit_test(test_alloc_shared_and_foreign_leases),
        cmocka_unit_test(test_alloc_full_subnet),
        cmocka_unit_test(test_alloc_top_of_address_space),
        cmocka_unit_test(test_conf_parse),
        cmocka_unit_test(test_table_round_trip),
        cmocka_unit_test(test_table_parse_skips_torn_lines),
        cmocka_unit_test(test_table_add_refuses_long_names),
        cmocka_unit_test(test_table_remove_all_of_an_id),
        cmocka_unit_test(test_lease_file),
    };
    return cmocka_run_group_tests_name("ipam", tests, NULL, NULL);
}
