/* SPDX-License-Identifier: MIT */
#include "caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>

#include "spec.h"
#include "sys.h"

uint64_t caps_current_bounding(void)
{
    uint64_t set = 0;
    for (int c = 0; c <= SPEC_CAP_LAST; c++)
        if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
            set |= 1ull << c;
    return set;
}

int caps_plan(const struct hutch_spec *s, uid_t uid, uint64_t *caps, uint64_t *ambient,
              struct hutch_error **err)
{
    uint64_t have = caps_current_bounding();
    uint64_t want;
    if (s->privileged)
        want = have;
    else
        want = ((s->cap_drop_all ? 0 : spec_default_caps()) | s->cap_add) & ~s->cap_drop;
    uint64_t all_known = (1ull << (SPEC_CAP_LAST + 1)) - 1;
    bool add_all = (s->cap_add & all_known) == all_known;
    if (add_all)
        want &= have; /* --cap-add ALL means all that we have */
    uint64_t missing = want & ~have;
    if (missing) {
        int c = __builtin_ctzll(missing);
        return hutch_err(err, EPERM, "validate", "--cap-add",
                         "CAP_%s is not in hutch's own capability bounding set on this host",
                         spec_cap_name(c));
    }
    *caps = want;
    /* non-root users get capabilities only when asked for, through the ambient set */
    *ambient = uid == 0 ? 0 : (s->cap_add & want);
    return 0;
}

int caps_drop_bounding(uint64_t caps)
{
    for (int c = 0; c <= SPEC_CAP_LAST; c++) {
        if (caps & (1ull << c))
            continue;
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            return -errno;
    }
    return 0;
}

int caps_apply(uid_t uid, uint64_t caps, uint64_t ambient)
{
    uint64_t prm = uid == 0 ? caps : ambient;
    uint32_t eff[2] = {(uint32_t)prm, (uint32_t)(prm >> 32)};
    uint32_t inh[2] = {(uint32_t)ambient, (uint32_t)(ambient >> 32)};
    if (sys_capset(eff, eff, inh) < 0)
        return -errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return -errno;
    for (int c = 0; c <= SPEC_CAP_LAST; c++)
        if ((ambient & (1ull << c)) &&
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
            return -errno;
    return 0;
}
