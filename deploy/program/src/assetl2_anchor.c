/*
 * assetl2_anchor: the AssetL2 batch-anchor program (DESIGN §8).
 *
 * Freestanding C for `clang-14 -target bpfel -mcpu=v2`, linked into an SBPFv0
 * shared object by ../sbpf_link.py.  The interface is Anchor-compatible:
 * 8-byte instruction discriminators sha256("global:<ix>")[..8], 8-byte account
 * discriminators sha256("account:<Name>")[..8], Borsh-encoded arguments and
 * account fields (see ../idl/assetl2_anchor.json).  Framework-level failures use
 * Anchor's own error numbers (100-3xxx) so Anchor clients decode them; every
 * rule of the anchor itself has its own code from 6000 (Anchor's user offset).
 *
 * Every account the program owns is created here by CPI to the system program,
 * so nobody can pre-create one with forged contents:
 *   Config            PDA ["config"]
 *   RegisteredProgram PDA ["program", code_hash, proof_hash]
 *   Batch             create_with_seed(base = Config, seed = "batch" + 16 hex
 *                     digits of batch_index, owner = this program)
 * A batch address is sha256(config || seed || program_id): one sol_sha256 call
 * instead of a bump search (1500 CU per try, unbounded in the worst case), so
 * post_batch costs the same for every index; the program signs as the base with
 * the Config PDA's stored bump.
 * An account owned by this program that carries one of these discriminators
 * can only have been written by this program at its canonical address, so a
 * later instruction trusts owner + discriminator (+ stored content) instead of
 * re-deriving the address: that is how post_batch stays far below 10k CU.
 *
 * Constraints of the toolchain (SOLANA.md): no mutable globals, no .bss, at
 * most 512 bytes of stack per function, no memcpy builtin (use syscalls).
 */

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;

/* Handlers keep their own frame: SBPF gives every call a fresh 4 KiB frame, LLVM allows 512 bytes each. */
#define NOINLINE __attribute__((noinline))

/* ---- syscalls (resolved by the VM through the murmur3 hash of the name) ---- */
void sol_log_(const char *message, u64 len);
void sol_memcpy_(void *dst, const void *src, u64 n);
void sol_memcmp_(const void *a, const void *b, u64 n, int *result);
void sol_memset_(void *dst, u8 value, u64 n);
u64 sol_create_program_address(const void *seeds, u64 seeds_len, const u8 *program_id, u8 *address);
u64 sol_try_find_program_address(const void *seeds, u64 seeds_len, const u8 *program_id, u8 *address,
                                 u8 *bump);
u64 sol_invoke_signed_c(const void *instruction, const void *account_infos, u64 account_infos_len,
                        const void *signers_seeds, u64 signers_seeds_len);
u64 sol_get_clock_sysvar(void *clock);
u64 sol_get_rent_sysvar(void *rent);
u64 sol_sha256(const void *vals, u64 vals_len, u8 *result);
void sol_log_data(const void *data, u64 data_len);

/* ---- the C ABI structs sol_invoke_signed_c reads ---- */
typedef struct {
    u8 *key;
    u64 *lamports;
    u64 data_len;
    u8 *data;
    u8 *owner;
    u64 rent_epoch;
    u8 is_signer;
    u8 is_writable;
    u8 executable;
} AccountInfo;

typedef struct {
    const u8 *addr;
    u64 len;
} SignerSeed;

typedef struct {
    const SignerSeed *addr;
    u64 len;
} SignerSeeds;

typedef struct {
    u8 *pubkey;
    u8 is_writable;
    u8 is_signer;
} AccountMeta;

typedef struct {
    const u8 *program_id;
    AccountMeta *accounts;
    u64 account_len;
    u8 *data;
    u64 data_len;
} Instruction;

/* ---- input serialization of BPF loader v2/v3 (aligned) ---- */
#define MAX_ACCOUNTS 6
#define NON_DUP_MARKER 0xff
#define MAX_PERMITTED_DATA_INCREASE 10240
#define PUBKEY_LEN 32
#define HASH_LEN 32

/* ---- Anchor discriminators: sha256("global:<ix>")[..8] / sha256("account:<Name>")[..8],
 *      read as little-endian u64 (checked against hashlib by tests/batchposter) ---- */
#define IX_INITIALIZE 0xed9b980d1f6dafafULL
#define IX_REGISTER_PROGRAM 0x8370e4c805a60968ULL
#define IX_POST_BATCH 0x244cd50e66ea7bacULL
#define IX_SET_AUTHORITY 0x791aa36e1525fa85ULL
#define IX_SET_POSTER 0x71c1273fc87560c3ULL
#define IX_CLOSE_BATCH 0x1cb5d3d1fd23aea6ULL
#define ACCOUNT_CONFIG 0x82ccfa1ee0aa0c9bULL
#define ACCOUNT_REGISTERED_PROGRAM 0x04327403ebb4fb1fULL
#define ACCOUNT_BATCH 0x2c8958162c46c29cULL
/* Anchor event discriminator: sha256("event:BatchPosted")[..8] */
#define EVENT_BATCH_POSTED 0xefe3838f9a03509aULL

/* ---- Anchor framework error numbers ---- */
#define ERR_INSTRUCTION_MISSING 100
#define ERR_INSTRUCTION_FALLBACK_NOT_FOUND 101
#define ERR_INSTRUCTION_DID_NOT_DESERIALIZE 102
#define ERR_CONSTRAINT_MUT 2000
#define ERR_CONSTRAINT_SIGNER 2002
#define ERR_CONSTRAINT_SEEDS 2006
#define ERR_ACCOUNT_DISCRIMINATOR_MISMATCH 3002
#define ERR_ACCOUNT_NOT_ENOUGH_KEYS 3005
#define ERR_ACCOUNT_OWNED_BY_WRONG_PROGRAM 3007
#define ERR_INVALID_PROGRAM_ID 3008
#define ERR_ACCOUNT_NOT_INITIALIZED 3012
#define ERR_ACCOUNT_NOT_PROGRAM_DATA 3013
#define ERR_CONSTRAINT_CLOSE 2011

/* ---- the anchor's own rules (Anchor user offset 6000) ---- */
#define ERR_NOT_UPGRADE_AUTHORITY 6000
#define ERR_ALREADY_INITIALIZED 6001
#define ERR_UNAUTHORIZED_AUTHORITY 6002
#define ERR_UNAUTHORIZED_POSTER 6003
#define ERR_PROGRAM_ALREADY_REGISTERED 6004
#define ERR_PROGRAM_NOT_REGISTERED 6005
#define ERR_REGISTRY_MISMATCH 6006
#define ERR_BATCH_ALREADY_POSTED 6007
#define ERR_BATCH_INDEX_GAP 6008
#define ERR_PREV_STATE_ROOT_MISMATCH 6009
#define ERR_INVALID_HEIGHT_RANGE 6010
#define ERR_HEIGHT_GAP 6011
#define ERR_TX_LOG_SHRUNK 6012
#define ERR_TX_LOG_ROOT_CHANGED 6013
#define ERR_INVALID_KEY 6014
#define ERR_RENT_OVERFLOW 6015
#define ERR_BATCH_IS_TIP 6016

/* ---- account layouts (Borsh, every field at its natural alignment) ---- */
#define DISC_LEN 8
#define CONFIG_AUTHORITY 8
#define CONFIG_POSTER 40
#define CONFIG_LAST_BATCH_INDEX 72
#define CONFIG_LAST_HEIGHT 80
#define CONFIG_TX_LOG_SIZE 88
#define CONFIG_LAST_STATE_ROOT 96
#define CONFIG_TX_LOG_ROOT 128
#define CONFIG_BUMP 160
#define CONFIG_LEN 161

#define REG_CODE_HASH 8
#define REG_PROOF_HASH 40
#define REG_CONFIG_HASH 72
#define REG_SLOT 104
#define REG_BUMP 112
#define REG_LEN 113

#define BATCH_INDEX 8
#define BATCH_FIRST_HEIGHT 16
#define BATCH_LAST_HEIGHT 24
#define BATCH_TX_LOG_SIZE 32
#define BATCH_SLOT 40
#define BATCH_UNIX_TIMESTAMP 48
#define BATCH_PREV_STATE_ROOT 56
#define BATCH_STATE_ROOT 88
#define BATCH_TX_LOG_ROOT 120
#define BATCH_CODE_HASH 152
#define BATCH_PROOF_HASH 184
#define BATCH_POSTER 216
#define BATCH_LEN 248

/* ---- instruction argument layouts (offsets after the discriminator) ---- */
#define INIT_ARG_AUTHORITY 0
#define INIT_ARG_POSTER 32
#define INIT_ARG_GENESIS_ROOT 64
#define INIT_ARGS_LEN 96

#define REG_ARG_CODE_HASH 0
#define REG_ARG_PROOF_HASH 32
#define REG_ARG_CONFIG_HASH 64
#define REG_ARGS_LEN 96

#define POST_ARG_BATCH_INDEX 0
#define POST_ARG_FIRST_HEIGHT 8
#define POST_ARG_LAST_HEIGHT 16
#define POST_ARG_PREV_STATE_ROOT 24
#define POST_ARG_STATE_ROOT 56
#define POST_ARG_TX_LOG_SIZE 88
#define POST_ARG_TX_LOG_ROOT 96
#define POST_ARG_CODE_HASH 128
#define POST_ARG_PROOF_HASH 160
#define POST_ARGS_LEN 192

#define KEY_ARG_LEN 32
#define CLOSE_ARGS_LEN 8

/* ---- system program and upgradeable loader ---- */
#define SYSTEM_CREATE_ACCOUNT 0
#define SYSTEM_ASSIGN 1
#define SYSTEM_TRANSFER 2
#define SYSTEM_CREATE_ACCOUNT_WITH_SEED 3
#define SYSTEM_ALLOCATE 8
#define SYSTEM_ALLOCATE_WITH_SEED 9
#define SYSTEM_ASSIGN_WITH_SEED 10
#define RENT_ACCOUNT_OVERHEAD 128
#define RENT_MAX_PER_BYTE (1ULL << 32)
#define RENT_MAX_DATA_LEN (1ULL << 16)
#define RENT_MAX_MANTISSA (1ULL << 14)
#define PROGRAM_DATA_TAG 3
#define PROGRAM_DATA_AUTHORITY_OPTION 12
#define PROGRAM_DATA_AUTHORITY 13
#define PROGRAM_DATA_HEADER_LEN 45

static const u8 SYSTEM_PROGRAM_ID[PUBKEY_LEN] = {0};
static const u8 UPGRADEABLE_LOADER_ID[PUBKEY_LEN] = {
    2, 168, 246, 145, 78, 136, 161, 176, 226, 16, 21, 62, 247, 99, 174, 43,
    0, 194, 185, 61, 22, 193, 36, 210, 192, 83, 122, 16, 4, 128, 0, 0};
static const u8 SEED_CONFIG[] = "config";
static const u8 SEED_PROGRAM[] = "program";
static const u8 SEED_BATCH[] = "batch";
static const u8 HEX_DIGITS[] = "0123456789abcdef";
#define BATCH_SEED_LEN 21 /* "batch" + 16 hex digits */
#define SEED_CONFIG_LEN 6
#define SEED_PROGRAM_LEN 7
#define SEED_BATCH_LEN 5

/* ---- small helpers ---- */

static u64 load_u64(const u8 *p) {
    return (u64)p[0] | ((u64)p[1] << 8) | ((u64)p[2] << 16) | ((u64)p[3] << 24) | ((u64)p[4] << 32) |
           ((u64)p[5] << 40) | ((u64)p[6] << 48) | ((u64)p[7] << 56);
}

static void store_u64(u8 *p, u64 v) {
    u64 i;
    for (i = 0; i < 8; i++) {
        p[i] = (u8)(v >> (8 * i));
    }
}

static u64 load_u32(const u8 *p) {
    return (u64)p[0] | ((u64)p[1] << 8) | ((u64)p[2] << 16) | ((u64)p[3] << 24);
}

static int bytes_eq(const u8 *a, const u8 *b, u64 n) {
    int result = 1;
    sol_memcmp_(a, b, n, &result);
    return result == 0;
}

static int is_zero_key(const u8 *key) {
    u64 i;
    for (i = 0; i < PUBKEY_LEN; i++) {
        if (key[i] != 0) {
            return 0;
        }
    }
    return 1;
}

static void log_str(const char *s) {
    u64 n = 0;
    while (s[n] != 0) {
        n++;
    }
    sol_log_(s, n);
}

/* An account of ours: owned by this program and carrying the expected discriminator. */
static u64 check_owned(const AccountInfo *acct, const u8 *program_id, u64 disc, u64 min_len) {
    if (bytes_eq(acct->owner, SYSTEM_PROGRAM_ID, PUBKEY_LEN) && acct->data_len == 0) {
        return ERR_ACCOUNT_NOT_INITIALIZED;
    }
    if (!bytes_eq(acct->owner, program_id, PUBKEY_LEN)) {
        return ERR_ACCOUNT_OWNED_BY_WRONG_PROGRAM;
    }
    if (acct->data_len < min_len || load_u64(acct->data) != disc) {
        return ERR_ACCOUNT_DISCRIMINATOR_MISMATCH;
    }
    return 0;
}

static u64 check_system_program(const AccountInfo *acct) {
    if (!bytes_eq(acct->key, SYSTEM_PROGRAM_ID, PUBKEY_LEN)) {
        return ERR_INVALID_PROGRAM_ID;
    }
    return 0;
}

/* Rent.minimum_balance without floats: the threshold is an IEEE double (1.0 or
 * 2.0 in practice) decoded into mantissa * 2^exponent and applied exactly. */
NOINLINE static u64 rent_exempt_minimum(u64 data_len, u64 *out) {
    u8 rent[24];
    sol_get_rent_sysvar(rent);
    u64 per_byte = load_u64(rent);
    u64 bits = load_u64(rent + 8);
    u64 biased_exp = (bits >> 52) & 0x7ff;
    u64 mantissa = (bits & 0xfffffffffffffULL) | (1ULL << 52);
    if ((bits >> 63) != 0 || biased_exp == 0x7ff) {
        return ERR_RENT_OVERFLOW;
    }
    if (biased_exp == 0) {
        *out = 0;
        return 0;
    }
    /* value = mantissa * 2^(biased_exp - 1075) */
    u64 right_shift = 0;
    u64 left_shift = 0;
    if (biased_exp < 1075) {
        right_shift = 1075 - biased_exp;
    } else {
        left_shift = biased_exp - 1075;
    }
    while (right_shift > 0 && (mantissa & 1) == 0) {
        mantissa >>= 1;
        right_shift--;
    }
    /* Bounded operands keep the products below 2^63 without 128-bit arithmetic,
     * which the BPF backend cannot emit. */
    if (per_byte >= RENT_MAX_PER_BYTE || data_len >= RENT_MAX_DATA_LEN || mantissa >= RENT_MAX_MANTISSA) {
        return ERR_RENT_OVERFLOW;
    }
    u64 product = (RENT_ACCOUNT_OVERHEAD + data_len) * per_byte * mantissa;
    if (left_shift > 0) {
        if (left_shift >= 64 || product > (0xffffffffffffffffULL >> left_shift)) {
            return ERR_RENT_OVERFLOW;
        }
        product <<= left_shift;
    } else if (right_shift >= 64) {
        product = 0;
    } else {
        product >>= right_shift;
    }
    *out = product;
    return 0;
}

static void system_ix(Instruction *ix, AccountMeta *metas, u64 n_metas, u8 *data, u64 data_len) {
    ix->program_id = SYSTEM_PROGRAM_ID;
    ix->accounts = metas;
    ix->account_len = n_metas;
    ix->data = data;
    ix->data_len = data_len;
}

/* Create a program-owned PDA paid by `payer`, the way Anchor's `init` does it:
 * CreateAccount when the address is empty, otherwise top up + Allocate + Assign,
 * so lamports sent to a future address in advance cannot block the anchor. */
NOINLINE static u64 create_pda(AccountInfo *payer, AccountInfo *target, u64 space, const SignerSeeds *signer,
                      const u8 *program_id) {
    u64 minimum = 0;
    u64 err = rent_exempt_minimum(space, &minimum);
    if (err != 0) {
        return err;
    }
    AccountInfo infos[2];
    infos[0] = *payer;
    infos[1] = *target;
    AccountMeta metas[2];
    metas[0].pubkey = payer->key;
    metas[0].is_writable = 1;
    metas[0].is_signer = 1;
    metas[1].pubkey = target->key;
    metas[1].is_writable = 1;
    metas[1].is_signer = 1;
    Instruction ix;
    u8 data[52];
    u64 current = *target->lamports;
    if (current == 0) {
        store_u64(data, SYSTEM_CREATE_ACCOUNT); /* u32 tag + 4 bytes of the u64 that follows */
        store_u64(data + 4, minimum);
        store_u64(data + 12, space);
        sol_memcpy_(data + 20, program_id, PUBKEY_LEN);
        system_ix(&ix, metas, 2, data, 52);
        err = sol_invoke_signed_c(&ix, infos, 2, signer, 1);
    } else {
        if (current < minimum) {
            store_u64(data, SYSTEM_TRANSFER);
            store_u64(data + 4, minimum - current);
            metas[1].is_signer = 0;
            system_ix(&ix, metas, 2, data, 12);
            err = sol_invoke_signed_c(&ix, infos, 2, signer, 0);
            metas[1].is_signer = 1;
            if (err != 0) {
                return err;
            }
        }
        store_u64(data, SYSTEM_ALLOCATE);
        store_u64(data + 4, space);
        system_ix(&ix, metas + 1, 1, data, 12);
        err = sol_invoke_signed_c(&ix, infos + 1, 1, signer, 1);
        if (err != 0) {
            return err;
        }
        store_u64(data, SYSTEM_ASSIGN);
        sol_memcpy_(data + 4, program_id, PUBKEY_LEN);
        system_ix(&ix, metas + 1, 1, data, 36);
        err = sol_invoke_signed_c(&ix, infos + 1, 1, signer, 1);
    }
    if (err != 0) {
        return err;
    }
    /* The runtime rewrote the serialized length in front of the data. */
    target->data_len = load_u64(target->data - 8);
    return 0;
}

/* bincode writers for system instructions */
static u8 *put_u32(u8 *p, u64 v) {
    p[0] = (u8)v;
    p[1] = (u8)(v >> 8);
    p[2] = (u8)(v >> 16);
    p[3] = (u8)(v >> 24);
    return p + 4;
}

static u8 *put_u64(u8 *p, u64 v) {
    store_u64(p, v);
    return p + 8;
}

static u8 *put_bytes(u8 *p, const u8 *src, u64 n) {
    sol_memcpy_(p, src, n);
    return p + n;
}

/* What a create-with-seed needs (BPF calls take at most five arguments). */
typedef struct {
    AccountInfo *payer;
    AccountInfo *target;
    AccountInfo *base;
    const SignerSeeds *base_signer;
    const u8 *seed;
    u64 seed_len;
    u64 space;
    const u8 *owner;
} SeededCreate;

/* "batch" + the index as 16 lowercase hex digits, most significant first. */
static void batch_seed(u8 *seed, const u8 *index_le) {
    u64 index = load_u64(index_le);
    u64 i;
    for (i = 0; i < SEED_BATCH_LEN; i++) {
        seed[i] = SEED_BATCH[i];
    }
    for (i = 0; i < 16; i++) {
        seed[SEED_BATCH_LEN + i] = HEX_DIGITS[(index >> (60 - 4 * i)) & 0xf];
    }
}

/* Create a program-owned account at create_with_seed(base, seed, owner), paid by
 * `payer`, signed by the base PDA.  As for PDAs, lamports sent to the address in
 * advance are topped up instead of blocking the anchor. */
NOINLINE static u64 create_seeded(const SeededCreate *c) {
    u64 minimum = 0;
    u64 err = rent_exempt_minimum(c->space, &minimum);
    if (err != 0) {
        return err;
    }
    AccountInfo infos[3];
    infos[0] = *c->payer;
    infos[1] = *c->target;
    infos[2] = *c->base;
    AccountMeta metas[3];
    metas[0].pubkey = c->payer->key;
    metas[0].is_writable = 1;
    metas[0].is_signer = 1;
    metas[1].pubkey = c->target->key;
    metas[1].is_writable = 1;
    metas[1].is_signer = 0;
    metas[2].pubkey = c->base->key;
    metas[2].is_writable = 0;
    metas[2].is_signer = 1;
    Instruction ix;
    u8 data[128];
    u8 *p;
    u64 current = *c->target->lamports;
    if (current == 0) {
        p = put_u32(data, SYSTEM_CREATE_ACCOUNT_WITH_SEED);
        p = put_bytes(p, c->base->key, PUBKEY_LEN);
        p = put_u64(p, c->seed_len);
        p = put_bytes(p, c->seed, c->seed_len);
        p = put_u64(p, minimum);
        p = put_u64(p, c->space);
        p = put_bytes(p, c->owner, PUBKEY_LEN);
        system_ix(&ix, metas, 3, data, (u64)(p - data));
        err = sol_invoke_signed_c(&ix, infos, 3, c->base_signer, 1);
    } else {
        if (current < minimum) {
            p = put_u32(data, SYSTEM_TRANSFER);
            p = put_u64(p, minimum - current);
            system_ix(&ix, metas, 2, data, (u64)(p - data));
            err = sol_invoke_signed_c(&ix, infos, 2, c->base_signer, 0);
            if (err != 0) {
                return err;
            }
        }
        p = put_u32(data, SYSTEM_ALLOCATE_WITH_SEED);
        p = put_bytes(p, c->base->key, PUBKEY_LEN);
        p = put_u64(p, c->seed_len);
        p = put_bytes(p, c->seed, c->seed_len);
        p = put_u64(p, c->space);
        p = put_bytes(p, c->owner, PUBKEY_LEN);
        system_ix(&ix, metas + 1, 2, data, (u64)(p - data));
        err = sol_invoke_signed_c(&ix, infos + 1, 2, c->base_signer, 1);
        if (err != 0) {
            return err;
        }
        p = put_u32(data, SYSTEM_ASSIGN_WITH_SEED);
        p = put_bytes(p, c->base->key, PUBKEY_LEN);
        p = put_u64(p, c->seed_len);
        p = put_bytes(p, c->seed, c->seed_len);
        p = put_bytes(p, c->owner, PUBKEY_LEN);
        system_ix(&ix, metas + 1, 2, data, (u64)(p - data));
        err = sol_invoke_signed_c(&ix, infos + 1, 2, c->base_signer, 1);
    }
    if (err != 0) {
        return err;
    }
    c->target->data_len = load_u64(c->target->data - 8);
    return 0;
}

/* Anchor's `emit!`: one "Program data: <base64>" log line holding the event
 * discriminator and the Borsh fields, here the Batch account's fields verbatim,
 * so indexers and auditors can follow anchoring from transaction logs alone. */
NOINLINE static void emit_batch_posted(const u8 *batch_data) {
    u8 event[BATCH_LEN];
    store_u64(event, EVENT_BATCH_POSTED);
    sol_memcpy_(event + DISC_LEN, batch_data + DISC_LEN, BATCH_LEN - DISC_LEN);
    SignerSeed slice;
    slice.addr = event;
    slice.len = BATCH_LEN;
    sol_log_data(&slice, 1);
}

/* ---- instructions ---- */

/* What every instruction handler gets (BPF calls take at most five arguments). */
typedef struct {
    AccountInfo *accts;
    u64 n;
    const u8 *args;
    u64 args_len;
    const u8 *program_id;
} Context;

/* initialize(authority, poster, genesis_state_root)
 * accounts: config (w, PDA ["config"]), payer (w, s, the program's upgrade
 * authority), program_data (this program's ProgramData), system_program.
 * Only the upgrade authority may initialize, so nobody can front-run the
 * deployment and install their own authority. */
NOINLINE static u64 ix_initialize(const Context *ctx) {
    AccountInfo *accts = ctx->accts;
    u64 n = ctx->n;
    const u8 *args = ctx->args;
    u64 args_len = ctx->args_len;
    const u8 *program_id = ctx->program_id;
    if (args_len != INIT_ARGS_LEN) {
        return ERR_INSTRUCTION_DID_NOT_DESERIALIZE;
    }
    if (n < 4) {
        return ERR_ACCOUNT_NOT_ENOUGH_KEYS;
    }
    AccountInfo *config = &accts[0];
    AccountInfo *payer = &accts[1];
    AccountInfo *program_data = &accts[2];
    u64 err = check_system_program(&accts[3]);
    if (err != 0) {
        return err;
    }
    if (!config->is_writable || !payer->is_writable) {
        return ERR_CONSTRAINT_MUT;
    }
    if (!payer->is_signer) {
        return ERR_CONSTRAINT_SIGNER;
    }
    u8 expected[PUBKEY_LEN];
    u8 bump = 0;
    SignerSeed pd_seed[1];
    pd_seed[0].addr = program_id;
    pd_seed[0].len = PUBKEY_LEN;
    if (sol_try_find_program_address(pd_seed, 1, UPGRADEABLE_LOADER_ID, expected, &bump) != 0 ||
        !bytes_eq(expected, program_data->key, PUBKEY_LEN) ||
        !bytes_eq(program_data->owner, UPGRADEABLE_LOADER_ID, PUBKEY_LEN) ||
        program_data->data_len < PROGRAM_DATA_HEADER_LEN || load_u32(program_data->data) != PROGRAM_DATA_TAG) {
        return ERR_ACCOUNT_NOT_PROGRAM_DATA;
    }
    if (program_data->data[PROGRAM_DATA_AUTHORITY_OPTION] != 1 ||
        !bytes_eq(program_data->data + PROGRAM_DATA_AUTHORITY, payer->key, PUBKEY_LEN)) {
        return ERR_NOT_UPGRADE_AUTHORITY;
    }
    if (is_zero_key(args + INIT_ARG_AUTHORITY) || is_zero_key(args + INIT_ARG_POSTER)) {
        return ERR_INVALID_KEY;
    }
    SignerSeed seeds[2];
    seeds[0].addr = SEED_CONFIG;
    seeds[0].len = SEED_CONFIG_LEN;
    if (sol_try_find_program_address(seeds, 1, program_id, expected, &bump) != 0 ||
        !bytes_eq(expected, config->key, PUBKEY_LEN)) {
        return ERR_CONSTRAINT_SEEDS;
    }
    if (config->data_len != 0 || !bytes_eq(config->owner, SYSTEM_PROGRAM_ID, PUBKEY_LEN)) {
        return ERR_ALREADY_INITIALIZED;
    }
    seeds[1].addr = &bump;
    seeds[1].len = 1;
    SignerSeeds signer = {seeds, 2};
    err = create_pda(payer, config, CONFIG_LEN, &signer, program_id);
    if (err != 0) {
        return err;
    }
    u8 *d = config->data;
    store_u64(d, ACCOUNT_CONFIG);
    sol_memcpy_(d + CONFIG_AUTHORITY, args + INIT_ARG_AUTHORITY, PUBKEY_LEN);
    sol_memcpy_(d + CONFIG_POSTER, args + INIT_ARG_POSTER, PUBKEY_LEN);
    store_u64(d + CONFIG_LAST_BATCH_INDEX, 0);
    store_u64(d + CONFIG_LAST_HEIGHT, 0);
    store_u64(d + CONFIG_TX_LOG_SIZE, 0);
    sol_memcpy_(d + CONFIG_LAST_STATE_ROOT, args + INIT_ARG_GENESIS_ROOT, HASH_LEN);
    d[CONFIG_BUMP] = bump;
    return 0;
}

/* Shared head of the authority-only instructions: config is ours, writable when
 * it will change, and the signer is the stored authority. */
static u64 check_authority(AccountInfo *config, AccountInfo *authority, const u8 *program_id, int config_mut) {
    u64 err = check_owned(config, program_id, ACCOUNT_CONFIG, CONFIG_LEN);
    if (err != 0) {
        return err;
    }
    if (config_mut && !config->is_writable) {
        return ERR_CONSTRAINT_MUT;
    }
    if (!authority->is_signer) {
        return ERR_CONSTRAINT_SIGNER;
    }
    if (!bytes_eq(authority->key, config->data + CONFIG_AUTHORITY, PUBKEY_LEN)) {
        return ERR_UNAUTHORIZED_AUTHORITY;
    }
    return 0;
}

/* register_program(code_hash, proof_hash, config_hash), authority only (DESIGN §6):
 * accounts: config, registered_program (w, PDA ["program", code_hash, proof_hash]),
 * authority (w, s, pays rent), system_program. */
NOINLINE static u64 ix_register_program(const Context *ctx) {
    AccountInfo *accts = ctx->accts;
    u64 n = ctx->n;
    const u8 *args = ctx->args;
    u64 args_len = ctx->args_len;
    const u8 *program_id = ctx->program_id;
    if (args_len != REG_ARGS_LEN) {
        return ERR_INSTRUCTION_DID_NOT_DESERIALIZE;
    }
    if (n < 4) {
        return ERR_ACCOUNT_NOT_ENOUGH_KEYS;
    }
    AccountInfo *entry = &accts[1];
    AccountInfo *authority = &accts[2];
    u64 err = check_system_program(&accts[3]);
    if (err != 0) {
        return err;
    }
    err = check_authority(&accts[0], authority, program_id, 0);
    if (err != 0) {
        return err;
    }
    if (!entry->is_writable || !authority->is_writable) {
        return ERR_CONSTRAINT_MUT;
    }
    SignerSeed seeds[4];
    seeds[0].addr = SEED_PROGRAM;
    seeds[0].len = SEED_PROGRAM_LEN;
    seeds[1].addr = args + REG_ARG_CODE_HASH;
    seeds[1].len = HASH_LEN;
    seeds[2].addr = args + REG_ARG_PROOF_HASH;
    seeds[2].len = HASH_LEN;
    u8 expected[PUBKEY_LEN];
    u8 bump = 0;
    if (sol_try_find_program_address(seeds, 3, program_id, expected, &bump) != 0 ||
        !bytes_eq(expected, entry->key, PUBKEY_LEN)) {
        return ERR_CONSTRAINT_SEEDS;
    }
    if (entry->data_len != 0 || !bytes_eq(entry->owner, SYSTEM_PROGRAM_ID, PUBKEY_LEN)) {
        return ERR_PROGRAM_ALREADY_REGISTERED;
    }
    seeds[3].addr = &bump;
    seeds[3].len = 1;
    SignerSeeds signer = {seeds, 4};
    err = create_pda(authority, entry, REG_LEN, &signer, program_id);
    if (err != 0) {
        return err;
    }
    u8 clock[40];
    sol_get_clock_sysvar(clock);
    u8 *d = entry->data;
    store_u64(d, ACCOUNT_REGISTERED_PROGRAM);
    sol_memcpy_(d + REG_CODE_HASH, args + REG_ARG_CODE_HASH, HASH_LEN);
    sol_memcpy_(d + REG_PROOF_HASH, args + REG_ARG_PROOF_HASH, HASH_LEN);
    sol_memcpy_(d + REG_CONFIG_HASH, args + REG_ARG_CONFIG_HASH, HASH_LEN);
    store_u64(d + REG_SLOT, load_u64(clock));
    d[REG_BUMP] = bump;
    return 0;
}

/* The sequencing rules of post_batch (DESIGN §8): the next index, the previous
 * root, contiguous heights and an append-only transaction log.  Returns the
 * first rule broken, each with its own code, so the poster can tell "already
 * done" (BatchAlreadyPosted) from everything that must stop it. */
static u64 check_batch_sequence(const u8 *cfg, const u8 *args) {
    u64 last_index = load_u64(cfg + CONFIG_LAST_BATCH_INDEX);
    u64 index = load_u64(args + POST_ARG_BATCH_INDEX);
    if (index <= last_index) {
        return ERR_BATCH_ALREADY_POSTED;
    }
    if (index != last_index + 1) {
        return ERR_BATCH_INDEX_GAP;
    }
    if (!bytes_eq(args + POST_ARG_PREV_STATE_ROOT, cfg + CONFIG_LAST_STATE_ROOT, HASH_LEN)) {
        return ERR_PREV_STATE_ROOT_MISMATCH;
    }
    u64 first_height = load_u64(args + POST_ARG_FIRST_HEIGHT);
    u64 last_height = load_u64(args + POST_ARG_LAST_HEIGHT);
    /* An empty range (last = first - 1) is a heartbeat batch; anything shorter is invalid. */
    if (first_height > last_height && first_height != last_height + 1) {
        return ERR_INVALID_HEIGHT_RANGE;
    }
    if (last_index != 0 && first_height != load_u64(cfg + CONFIG_LAST_HEIGHT) + 1) {
        return ERR_HEIGHT_GAP;
    }
    u64 log_size = load_u64(args + POST_ARG_TX_LOG_SIZE);
    u64 stored_log_size = load_u64(cfg + CONFIG_TX_LOG_SIZE);
    if (log_size < stored_log_size) {
        return ERR_TX_LOG_SHRUNK;
    }
    if (log_size == stored_log_size && last_index != 0 &&
        !bytes_eq(args + POST_ARG_TX_LOG_ROOT, cfg + CONFIG_TX_LOG_ROOT, HASH_LEN)) {
        return ERR_TX_LOG_ROOT_CHANGED;
    }
    return 0;
}

/* post_batch(batch_index, first_height, last_height, prev_state_root, state_root,
 *            tx_log_size, tx_log_root, code_hash, proof_hash), poster only:
 * accounts: config (w), batch (w, create_with_seed(config, "batch<hex index>")), registered_program
 * (the entry of (code_hash, proof_hash)), poster (w, s, pays rent), system_program. */
NOINLINE static u64 ix_post_batch(const Context *ctx) {
    AccountInfo *accts = ctx->accts;
    u64 n = ctx->n;
    const u8 *args = ctx->args;
    u64 args_len = ctx->args_len;
    const u8 *program_id = ctx->program_id;
    if (args_len != POST_ARGS_LEN) {
        return ERR_INSTRUCTION_DID_NOT_DESERIALIZE;
    }
    if (n < 5) {
        return ERR_ACCOUNT_NOT_ENOUGH_KEYS;
    }
    AccountInfo *config = &accts[0];
    AccountInfo *batch = &accts[1];
    AccountInfo *entry = &accts[2];
    AccountInfo *poster = &accts[3];
    u64 err = check_system_program(&accts[4]);
    if (err != 0) {
        return err;
    }
    err = check_owned(config, program_id, ACCOUNT_CONFIG, CONFIG_LEN);
    if (err != 0) {
        return err;
    }
    if (!config->is_writable || !batch->is_writable || !poster->is_writable) {
        return ERR_CONSTRAINT_MUT;
    }
    if (!poster->is_signer) {
        return ERR_CONSTRAINT_SIGNER;
    }
    u8 *cfg = config->data;
    if (!bytes_eq(poster->key, cfg + CONFIG_POSTER, PUBKEY_LEN)) {
        return ERR_UNAUTHORIZED_POSTER;
    }
    err = check_batch_sequence(cfg, args);
    if (err != 0) {
        return err;
    }
    err = check_owned(entry, program_id, ACCOUNT_REGISTERED_PROGRAM, REG_LEN);
    if (err == ERR_ACCOUNT_NOT_INITIALIZED) {
        return ERR_PROGRAM_NOT_REGISTERED;
    }
    if (err != 0) {
        return err;
    }
    if (!bytes_eq(entry->data + REG_CODE_HASH, args + POST_ARG_CODE_HASH, HASH_LEN) ||
        !bytes_eq(entry->data + REG_PROOF_HASH, args + POST_ARG_PROOF_HASH, HASH_LEN)) {
        return ERR_REGISTRY_MISMATCH;
    }
    u8 seed[BATCH_SEED_LEN];
    batch_seed(seed, args + POST_ARG_BATCH_INDEX);
    SignerSeed parts[3];
    parts[0].addr = config->key;
    parts[0].len = PUBKEY_LEN;
    parts[1].addr = seed;
    parts[1].len = BATCH_SEED_LEN;
    parts[2].addr = program_id;
    parts[2].len = PUBKEY_LEN;
    u8 expected[PUBKEY_LEN];
    sol_sha256(parts, 3, expected);
    if (!bytes_eq(expected, batch->key, PUBKEY_LEN)) {
        return ERR_CONSTRAINT_SEEDS;
    }
    SignerSeed config_seeds[2];
    config_seeds[0].addr = SEED_CONFIG;
    config_seeds[0].len = SEED_CONFIG_LEN;
    config_seeds[1].addr = cfg + CONFIG_BUMP;
    config_seeds[1].len = 1;
    SignerSeeds config_signer = {config_seeds, 2};
    SeededCreate create = {poster, batch, config, &config_signer, seed, BATCH_SEED_LEN, BATCH_LEN, program_id};
    err = create_seeded(&create);
    if (err != 0) {
        return err;
    }
    u8 clock[40];
    sol_get_clock_sysvar(clock);
    u8 *d = batch->data;
    store_u64(d, ACCOUNT_BATCH);
    sol_memcpy_(d + BATCH_INDEX, args + POST_ARG_BATCH_INDEX, 24); /* index, first, last height */
    sol_memcpy_(d + BATCH_TX_LOG_SIZE, args + POST_ARG_TX_LOG_SIZE, 8);
    sol_memcpy_(d + BATCH_SLOT, clock, 8);
    sol_memcpy_(d + BATCH_UNIX_TIMESTAMP, clock + 32, 8);
    sol_memcpy_(d + BATCH_PREV_STATE_ROOT, args + POST_ARG_PREV_STATE_ROOT, 2 * HASH_LEN); /* prev, new */
    sol_memcpy_(d + BATCH_TX_LOG_ROOT, args + POST_ARG_TX_LOG_ROOT, 3 * HASH_LEN); /* log, code, proof */
    sol_memcpy_(d + BATCH_POSTER, poster->key, PUBKEY_LEN);
    emit_batch_posted(d);

    sol_memcpy_(cfg + CONFIG_LAST_BATCH_INDEX, args + POST_ARG_BATCH_INDEX, 8);
    sol_memcpy_(cfg + CONFIG_LAST_HEIGHT, args + POST_ARG_LAST_HEIGHT, 8);
    sol_memcpy_(cfg + CONFIG_TX_LOG_SIZE, args + POST_ARG_TX_LOG_SIZE, 8);
    sol_memcpy_(cfg + CONFIG_LAST_STATE_ROOT, args + POST_ARG_STATE_ROOT, HASH_LEN);
    sol_memcpy_(cfg + CONFIG_TX_LOG_ROOT, args + POST_ARG_TX_LOG_ROOT, HASH_LEN);
    return 0;
}

/* set_authority(new_authority) / set_poster(new_poster), authority only:
 * accounts: config (w), authority (s).  The zero key is refused so a typo
 * cannot brick the anchor. */
NOINLINE static u64 ix_rotate_key(const Context *ctx, u64 field) {
    AccountInfo *accts = ctx->accts;
    u64 n = ctx->n;
    const u8 *args = ctx->args;
    u64 args_len = ctx->args_len;
    const u8 *program_id = ctx->program_id;
    if (args_len != KEY_ARG_LEN) {
        return ERR_INSTRUCTION_DID_NOT_DESERIALIZE;
    }
    if (n < 2) {
        return ERR_ACCOUNT_NOT_ENOUGH_KEYS;
    }
    u64 err = check_authority(&accts[0], &accts[1], program_id, 1);
    if (err != 0) {
        return err;
    }
    if (is_zero_key(args)) {
        return ERR_INVALID_KEY;
    }
    sol_memcpy_(accts[0].data + field, args, PUBKEY_LEN);
    return 0;
}

/* close_batch(batch_index), authority only: accounts config, batch (w), authority (s),
 * recipient (w).  Every batch account locks its rent for good; closing batches
 * older than the tip returns it.  The Config keeps the tip and its index, so a
 * re-post of a closed index still fails with BatchAlreadyPosted, and the
 * BatchPosted event in the posting transaction's logs keeps the batch's record. */
NOINLINE static u64 ix_close_batch(const Context *ctx) {
    AccountInfo *accts = ctx->accts;
    if (ctx->args_len != CLOSE_ARGS_LEN) {
        return ERR_INSTRUCTION_DID_NOT_DESERIALIZE;
    }
    if (ctx->n < 4) {
        return ERR_ACCOUNT_NOT_ENOUGH_KEYS;
    }
    AccountInfo *batch = &accts[1];
    AccountInfo *recipient = &accts[3];
    u64 err = check_authority(&accts[0], &accts[2], ctx->program_id, 0);
    if (err != 0) {
        return err;
    }
    if (!batch->is_writable || !recipient->is_writable) {
        return ERR_CONSTRAINT_MUT;
    }
    if (bytes_eq(batch->key, recipient->key, PUBKEY_LEN)) {
        return ERR_CONSTRAINT_CLOSE;
    }
    u64 index = load_u64(ctx->args);
    if (index >= load_u64(accts[0].data + CONFIG_LAST_BATCH_INDEX)) {
        return ERR_BATCH_IS_TIP;
    }
    err = check_owned(batch, ctx->program_id, ACCOUNT_BATCH, BATCH_LEN);
    if (err != 0) {
        return err;
    }
    /* Only this program writes Batch accounts, each at the address of its index. */
    if (load_u64(batch->data + BATCH_INDEX) != index) {
        return ERR_CONSTRAINT_SEEDS;
    }
    *recipient->lamports += *batch->lamports;
    *batch->lamports = 0;
    sol_memset_(batch->data, 0, batch->data_len);
    return 0;
}

/* ---- entrypoint ---- */

u64 entrypoint(u8 *input) {
    AccountInfo accts[MAX_ACCOUNTS];
    u64 n_accounts = load_u64(input);
    u8 *p = input + 8;
    u64 i;
    for (i = 0; i < n_accounts; i++) {
        u8 dup = p[0];
        if (dup != NON_DUP_MARKER) {
            if (i < MAX_ACCOUNTS && dup < MAX_ACCOUNTS) {
                accts[i] = accts[dup];
            }
            p += 8;
            continue;
        }
        if (i < MAX_ACCOUNTS) {
            AccountInfo *a = &accts[i];
            a->is_signer = p[1];
            a->is_writable = p[2];
            a->executable = p[3];
            a->key = p + 8;
            a->owner = p + 40;
            a->lamports = (u64 *)(p + 72);
            a->data_len = load_u64(p + 80);
            a->data = p + 88;
        }
        u64 data_len = load_u64(p + 80);
        p += 88 + data_len + MAX_PERMITTED_DATA_INCREASE;
        p = (u8 *)(((u64)p + 7) & ~7ULL);
        if (i < MAX_ACCOUNTS) {
            accts[i].rent_epoch = load_u64(p);
        }
        p += 8;
    }
    u64 ix_len = load_u64(p);
    const u8 *ix = p + 8;
    const u8 *program_id = ix + ix_len;
    if (ix_len < DISC_LEN) {
        return ERR_INSTRUCTION_MISSING;
    }
    u64 disc = load_u64(ix);
    Context ctx;
    ctx.accts = accts;
    ctx.n = n_accounts < MAX_ACCOUNTS ? n_accounts : MAX_ACCOUNTS;
    ctx.args = ix + DISC_LEN;
    ctx.args_len = ix_len - DISC_LEN;
    ctx.program_id = program_id;
    if (disc == IX_POST_BATCH) {
        log_str("Instruction: PostBatch");
        return ix_post_batch(&ctx);
    }
    if (disc == IX_REGISTER_PROGRAM) {
        log_str("Instruction: RegisterProgram");
        return ix_register_program(&ctx);
    }
    if (disc == IX_INITIALIZE) {
        log_str("Instruction: Initialize");
        return ix_initialize(&ctx);
    }
    if (disc == IX_SET_AUTHORITY) {
        log_str("Instruction: SetAuthority");
        return ix_rotate_key(&ctx, CONFIG_AUTHORITY);
    }
    if (disc == IX_SET_POSTER) {
        log_str("Instruction: SetPoster");
        return ix_rotate_key(&ctx, CONFIG_POSTER);
    }
    if (disc == IX_CLOSE_BATCH) {
        log_str("Instruction: CloseBatch");
        return ix_close_batch(&ctx);
    }
    return ERR_INSTRUCTION_FALLBACK_NOT_FOUND;
}
