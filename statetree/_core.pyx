# cython: language_level=3
"""Compiled core of the state tree: the per-block update pass, node hashing, node
encoding and decoding (DESIGN §5; layout in ``tree.py``, hashing rules in ``hashing.py``).

This is the same algorithm as the pure-Python pass it replaced, with the same data shapes
(so ``tree.py``'s reads, proofs and cache see no difference):

* a slot is ``None``, an internal pointer ``(hash, version, enc)``, a bucket
  ``(hash, leaves, count, enc)`` or a leaf ``(leaf_hash, key, value_hash, value_version,
  enc)``; ``enc`` is the slot's stored form;
* a node is ``(slots, hashes, kinds)``: 16 slots, the 31 binary cells of the node as one
  heap-ordered ``bytearray`` of 32-byte cells (1 = top, 16..31 = slots), and per cell
  empty / lone leaf / anything else.

What changed is where the work happens: the walk over the sorted batch, the inner-cell
rehash, bucket hashing and the encoders run as typed C loops, and SHA-256 of the 65-byte
leaf and node preimages is a small FIPS 180-4 implementation in C (below) computed straight
into the node's hash buffer.  Values' own hashes (any length, up to 64 KiB) stay on
``hashlib``.  ``hashing.reference_root`` remains the independent statement of the rules;
``tests/statetree/test_compiled.py`` checks this module against it and against hashlib.
"""
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_FromStringAndSize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.list cimport PyList_AsTuple
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memcmp, memcpy, memset

cdef extern from *:
    """
    /* SHA-256 (FIPS 180-4), one-shot, for the tree's short preimages. */
    #include <stdint.h>
    #include <string.h>

    static const uint32_t st_sha256_k[64] = {
        0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
        0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
        0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
        0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
        0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
        0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
        0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
        0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u
    };

    #define ST_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

    static void st_sha256_block(uint32_t *st, const uint8_t *p) {
        uint32_t w[64];
        uint32_t a, b, c, d, e, f, g, h, t1, t2;
        int i;
        for (i = 0; i < 16; i++) {
            w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16)
                 | ((uint32_t)p[4 * i + 2] << 8) | (uint32_t)p[4 * i + 3];
        }
        for (i = 16; i < 64; i++) {
            uint32_t s0 = ST_ROR(w[i - 15], 7) ^ ST_ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ST_ROR(w[i - 2], 17) ^ ST_ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        a = st[0]; b = st[1]; c = st[2]; d = st[3]; e = st[4]; f = st[5]; g = st[6]; h = st[7];
        for (i = 0; i < 64; i++) {
            t1 = h + (ST_ROR(e, 6) ^ ST_ROR(e, 11) ^ ST_ROR(e, 25)) + ((e & f) ^ (~e & g))
                 + st_sha256_k[i] + w[i];
            t2 = (ST_ROR(a, 2) ^ ST_ROR(a, 13) ^ ST_ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        st[0] += a; st[1] += b; st[2] += c; st[3] += d;
        st[4] += e; st[5] += f; st[6] += g; st[7] += h;
    }

    #if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    #define ST_HAVE_SHANI 1
    #include <cpuid.h>
    #include <immintrin.h>

    /* The same compression with the x86 SHA extensions (runtime-detected). */
    __attribute__((target("sha,sse4.1,ssse3")))
    static void st_sha256_block_shani(uint32_t *st, const uint8_t *p) {
        const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
        __m128i s0, s1, tmp, msg, abef, cdgh, w[16];
        int g;
        tmp = _mm_loadu_si128((const __m128i *)&st[0]);
        s1 = _mm_loadu_si128((const __m128i *)&st[4]);
        tmp = _mm_shuffle_epi32(tmp, 0xB1);
        s1 = _mm_shuffle_epi32(s1, 0x1B);
        s0 = _mm_alignr_epi8(tmp, s1, 8);
        s1 = _mm_blend_epi16(s1, tmp, 0xF0);
        abef = s0;
        cdgh = s1;
        for (g = 0; g < 4; g++)
            w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), mask);
        for (g = 4; g < 16; g++) {
            tmp = _mm_sha256msg1_epu32(w[g - 4], w[g - 3]);
            tmp = _mm_add_epi32(tmp, _mm_alignr_epi8(w[g - 1], w[g - 2], 4));
            w[g] = _mm_sha256msg2_epu32(tmp, w[g - 1]);
        }
        for (g = 0; g < 16; g++) {
            msg = _mm_add_epi32(w[g], _mm_loadu_si128((const __m128i *)&st_sha256_k[4 * g]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
            msg = _mm_shuffle_epi32(msg, 0x0E);
            s0 = _mm_sha256rnds2_epu32(s0, s1, msg);
        }
        s0 = _mm_add_epi32(s0, abef);
        s1 = _mm_add_epi32(s1, cdgh);
        tmp = _mm_shuffle_epi32(s0, 0x1B);
        s1 = _mm_shuffle_epi32(s1, 0xB1);
        s0 = _mm_blend_epi16(tmp, s1, 0xF0);
        s1 = _mm_alignr_epi8(s1, tmp, 8);
        _mm_storeu_si128((__m128i *)&st[0], s0);
        _mm_storeu_si128((__m128i *)&st[4], s1);
    }

    static int st_cpu_has_shani(void) {
        unsigned int a, b, c, d;
        if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
        if (!(c & (1u << 9)) || !(c & (1u << 19))) return 0;   /* SSSE3, SSE4.1 */
        if (__get_cpuid_max(0, 0) < 7) return 0;
        __cpuid_count(7, 0, a, b, c, d);
        return (b >> 29) & 1;                                  /* SHA */
    }
    #else
    #define ST_HAVE_SHANI 0
    static int st_cpu_has_shani(void) { return 0; }
    #endif

    typedef void (*st_block_fn)(uint32_t *, const uint8_t *);
    static st_block_fn st_block = st_sha256_block;

    /* 1 if the SHA extensions are used from now on; use_shani=0 forces the portable code. */
    static int st_sha256_select(int use_shani) {
    #if ST_HAVE_SHANI
        if (use_shani && st_cpu_has_shani()) {
            st_block = st_sha256_block_shani;
            return 1;
        }
    #endif
        st_block = st_sha256_block;
        return 0;
    }

    static void st_sha256(const uint8_t *data, size_t len, uint8_t *out) {
        uint32_t st[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                          0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
        uint8_t buf[128];
        size_t rest = len, total;
        uint64_t bits = (uint64_t)len << 3;
        int i;
        while (rest >= 64) {
            st_block(st, data);
            data += 64;
            rest -= 64;
        }
        memset(buf, 0, sizeof(buf));
        memcpy(buf, data, rest);
        buf[rest] = 0x80;
        total = rest + 9 <= 64 ? 64 : 128;
        for (i = 0; i < 8; i++) buf[total - 1 - i] = (uint8_t)(bits >> (8 * i));
        st_block(st, buf);
        if (total == 128) st_block(st, buf + 64);
        for (i = 0; i < 8; i++) {
            out[4 * i] = (uint8_t)(st[i] >> 24);
            out[4 * i + 1] = (uint8_t)(st[i] >> 16);
            out[4 * i + 2] = (uint8_t)(st[i] >> 8);
            out[4 * i + 3] = (uint8_t)st[i];
        }
    }
    """
    void st_sha256(const uint8_t *data, size_t n, uint8_t *out) nogil
    int st_sha256_select(int use_shani) nogil

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(void *op)

cdef enum:
    C_RADIX = 16
    C_SLOT_BASE = 16
    C_LEVELS = 32
    C_HASHES_BYTES = 32 * 32
    C_K_EMPTY = 0
    C_K_LEAF = 1
    C_K_INTERNAL = 2
    C_K_BUCKET = 3
    C_BUCKET_MAX = 4
    C_LEAF_ENC = 72
    C_INTERNAL_ENC = 40

BUCKET_MAX = C_BUCKET_MAX

cdef uint8_t _EMPTY[32]
memset(_EMPTY, 0, 32)


# ------------------------------------------------------------------ small helpers

cdef inline tuple _acyclic(tuple t):
    """``t`` taken off the cyclic GC's lists at once.  Slot and node tuples hold only bytes,
    ints, bytearrays and such tuples, so they can never be in a cycle; CPython would untrack
    them itself, but only after walking them in a collection, and a block creates thousands
    (measured: those walks were ~20% of ``apply``'s CPU)."""
    PyObject_GC_UnTrack(<void*>t)
    return t

cdef inline const uint8_t* _p(bytes b):
    return <const uint8_t*>PyBytes_AS_STRING(b)


cdef inline bytes _b32(const uint8_t* p):
    return PyBytes_FromStringAndSize(<const char*>p, 32)


cdef inline void _node_into(uint8_t* out, const uint8_t* left, const uint8_t* right) noexcept:
    """out = SHA-256(0x01 || left || right); out may alias either input."""
    cdef uint8_t buf[65]
    buf[0] = 1
    memcpy(buf + 1, left, 32)
    memcpy(buf + 33, right, 32)
    st_sha256(buf, 65, out)


cdef inline bytes _leaf_hash(const uint8_t* key, const uint8_t* vh):
    cdef uint8_t buf[65]
    cdef uint8_t out[32]
    buf[0] = 0
    memcpy(buf + 1, key, 32)
    memcpy(buf + 33, vh, 32)
    st_sha256(buf, 65, out)
    return _b32(out)


cdef inline bytes _u64(uint64_t v):
    cdef uint8_t b[8]
    cdef int i
    for i in range(8):
        b[7 - i] = <uint8_t>(v >> (8 * i))
    return PyBytes_FromStringAndSize(<const char*>b, 8)


cdef inline uint64_t _rd64(const uint8_t* p) noexcept:
    cdef uint64_t v = 0
    cdef int i
    for i in range(8):
        v = (v << 8) | p[i]
    return v


cdef inline int _bit(const uint8_t* k, int i) noexcept:
    return (k[i >> 3] >> (7 - (i & 7))) & 1


cdef inline int _nib(bytes key, int byte_at, int odd) noexcept:
    cdef uint8_t b = _p(key)[byte_at]
    return b & 0x0F if odd else b >> 4


cdef inline bytes _entry_key(tuple e):
    """Key of an update item (field 0) or of a leaf slot (field 1)."""
    return <bytes>(e[1] if len(e) == 5 else e[0])


cdef bytes _node_path(int depth, bytes key):
    """``u8 depth || nibble prefix`` (odd depth: low nibble of the last byte zeroed)."""
    cdef uint8_t buf[33]
    cdef int n = (depth + 1) >> 1
    buf[0] = <uint8_t>depth
    memcpy(buf + 1, _p(key), n)
    if depth & 1:
        buf[n] &= 0xF0
    return PyBytes_FromStringAndSize(<const char*>buf, n + 1)


SHA_EXTENSIONS = bool(st_sha256_select(1))  # x86 SHA instructions found and used


def select_sha256(bint use_extensions) -> bool:
    """Use the x86 SHA extensions if available (the default) or force the portable C code
    (tests run both against hashlib); returns whether the extensions are now in use."""
    global SHA_EXTENSIONS
    SHA_EXTENSIONS = bool(st_sha256_select(use_extensions))
    return SHA_EXTENSIONS


def sha256_digest(data) -> bytes:
    """SHA-256 of ``data`` with the C implementation (tests compare it with hashlib)."""
    cdef bytes b = bytes(data)
    cdef uint8_t out[32]
    st_sha256(_p(b), PyBytes_GET_SIZE(b), out)
    return _b32(out)


# ------------------------------------------------------------------ slots and buckets

cdef tuple _leaf_from(const uint8_t* p):
    """Leaf slot from its 72-byte stored form ``key || value_hash || value_version``."""
    cdef bytes enc = PyBytes_FromStringAndSize(<const char*>p, C_LEAF_ENC)
    return _acyclic((_leaf_hash(p, p + 32), _b32(p), _b32(p + 32), _rd64(p + 64), enc))


def leaf_slot(bytes key not None, bytes vh not None, uint64_t vver) -> tuple:
    """Leaf slot ``(leaf_hash, key, value_hash, value_version, encoding)``."""
    if len(key) != 32 or len(vh) != 32:
        raise ValueError("leaf key and value hash must be 32 bytes")
    return _acyclic((_leaf_hash(_p(key), _p(vh)), key, vh, vver, key + vh + _u64(vver)))


cdef int _pairs_hash(const uint8_t** keys, const uint8_t** lhs, int n, int bit_depth,
                     uint8_t* out) except -1:
    """Hash of the binary subtree at ``bit_depth`` holding ``n`` leaves sorted by key: the
    set splits at the first bit where its smallest and largest keys differ, and every level
    above that split (down from ``bit_depth``) pairs the subtree with EMPTY."""
    cdef int b, k, split = -1, cut, depth
    cdef uint8_t x
    cdef uint8_t left[32]
    cdef uint8_t right[32]
    if n == 1:
        memcpy(out, lhs[0], 32)
        return 0
    for b in range(32):
        x = keys[0][b] ^ keys[n - 1][b]
        if x:
            k = 0
            while not (x & (0x80 >> k)):
                k += 1
            split = 8 * b + k
            break
    if split < 0:
        raise ValueError("a key appears twice in one bucket")
    cut = 1
    while not _bit(keys[cut], split):
        cut += 1
    _pairs_hash(keys, lhs, cut, split + 1, left)
    _pairs_hash(keys + cut, lhs + cut, n - cut, split + 1, right)
    _node_into(out, left, right)
    for depth in range(split - 1, bit_depth - 1, -1):
        if _bit(keys[0], depth):
            _node_into(out, _EMPTY, out)
        else:
            _node_into(out, out, _EMPTY)
    return 0


cdef bytes _leaves_hash(leaves, int bit_depth):
    """Hash of the subtree at ``bit_depth`` holding 1..BUCKET_MAX leaf slots (any order)."""
    cdef const uint8_t* keys[C_BUCKET_MAX]
    cdef const uint8_t* lhs[C_BUCKET_MAX]
    cdef const uint8_t* tk
    cdef const uint8_t* th
    cdef int n = len(leaves), i, j
    cdef uint8_t out[32]
    cdef tuple lf
    if not 1 <= n <= C_BUCKET_MAX:
        raise ValueError(f"bucket of {n} keys")
    for i in range(n):
        lf = <tuple>leaves[i]
        if len(lf) != 5:
            raise ValueError("bucket entry is not a leaf")
        keys[i] = _p(<bytes>lf[1])
        lhs[i] = _p(<bytes>lf[0])
    for i in range(1, n):  # insertion sort by key (a stored bucket is already sorted)
        tk = keys[i]
        th = lhs[i]
        j = i - 1
        while j >= 0 and memcmp(keys[j], tk, 32) > 0:
            keys[j + 1] = keys[j]
            lhs[j + 1] = lhs[j]
            j -= 1
        keys[j + 1] = tk
        lhs[j + 1] = th
    _pairs_hash(keys, lhs, n, bit_depth, out)
    return _b32(out)


def subtree_hash(leaves, int bit_depth) -> bytes:
    """Hash of the binary subtree at ``bit_depth`` holding ``leaves`` (1..BUCKET_MAX leaf slots)."""
    return _leaves_hash(leaves, bit_depth)


cpdef tuple make_bucket(list leaves, int bit_depth):
    """Bucket slot ``(hash, leaves, count, enc)`` for 2..BUCKET_MAX leaf slots (stored in the
    given order, hashed in key order)."""
    cdef int n = len(leaves), i
    cdef bytes enc, e
    cdef char* w
    h = _leaves_hash(leaves, bit_depth)
    enc = PyBytes_FromStringAndSize(NULL, 1 + C_LEAF_ENC * n)
    w = PyBytes_AS_STRING(enc)
    w[0] = <char>n
    for i in range(n):
        e = <bytes>(<tuple>leaves[i])[4]
        memcpy(w + 1 + C_LEAF_ENC * i, PyBytes_AS_STRING(e), C_LEAF_ENC)
    return _acyclic((h, _acyclic(PyList_AsTuple(leaves)), n, enc))


# ------------------------------------------------------------------ nodes

cdef inline uint8_t _slot_kind(object slot):
    cdef Py_ssize_t n = len(<tuple>slot)
    if n == 5:
        return C_K_LEAF
    if n == 4:
        return C_K_BUCKET
    return C_K_INTERNAL


cdef tuple _hash_node_c(list slots, bytearray hashes, bytearray kinds, int* changed, int nchanged):
    """Node for ``slots``: set the changed slot cells, then recompute every inner cell
    above them, children before parents (heap index descending)."""
    cdef uint8_t* H = <uint8_t*>PyByteArray_AS_STRING(hashes)
    cdef uint8_t* K = <uint8_t*>PyByteArray_AS_STRING(kinds)
    cdef uint32_t dirty = 0
    cdef int c, i, j, a
    cdef uint8_t ka, kb
    for c in range(nchanged):
        i = changed[c]
        slot = slots[i]
        j = C_SLOT_BASE + i
        if slot is None:
            memset(H + (j << 5), 0, 32)
            K[j] = C_K_EMPTY
        else:
            memcpy(H + (j << 5), _p(<bytes>(<tuple>slot)[0]), 32)
            K[j] = _slot_kind(slot)
        dirty |= (1u << (j >> 1)) | (1u << (j >> 2)) | (1u << (j >> 3)) | (1u << (j >> 4))
    for i in range(C_SLOT_BASE - 1, 0, -1):
        if not (dirty >> i) & 1:
            continue
        a = i << 1
        ka = K[a]
        kb = K[a + 1]
        if ka == C_K_EMPTY and kb < C_K_INTERNAL:
            memcpy(H + (i << 5), H + ((a + 1) << 5), 32)
            K[i] = kb
        elif kb == C_K_EMPTY and ka == C_K_LEAF:
            memcpy(H + (i << 5), H + (a << 5), 32)
            K[i] = C_K_LEAF
        else:
            _node_into(H + (i << 5), H + (a << 5), H + ((a + 1) << 5))
            K[i] = C_K_INTERNAL
    return _acyclic((_acyclic(PyList_AsTuple(slots)), hashes, kinds))


cdef inline bytearray _zeros(Py_ssize_t n):
    cdef bytearray b = PyByteArray_FromStringAndSize(NULL, n)
    memset(PyByteArray_AS_STRING(b), 0, n)
    return b


cdef inline bytearray _copy(bytearray b):
    return PyByteArray_FromStringAndSize(PyByteArray_AS_STRING(b), len(b))


def hash_node(list slots, bytearray hashes, bytearray kinds, changed) -> tuple:
    """Node for ``slots`` whose ``changed`` slot indexes differ from ``hashes``/``kinds``
    (updated in place and returned in the node)."""
    cdef int ch[C_RADIX]
    cdef int n = 0
    if len(slots) != C_RADIX or len(hashes) != C_HASHES_BYTES or len(kinds) != C_LEVELS:
        raise ValueError("a node has 16 slots, 32 cells")
    for i in changed:
        if not 0 <= i < C_RADIX or n == C_RADIX:
            raise ValueError("bad changed slot list")
        ch[n] = i
        n += 1
    return _hash_node_c(slots, hashes, kinds, ch, n)


cpdef tuple make_node(list slots):
    """Node with all inner hashes computed from its slots."""
    cdef int ch[C_RADIX]
    cdef int n = 0, i
    for i in range(C_RADIX):
        if slots[i] is not None:
            ch[n] = i
            n += 1
    return _hash_node_c(slots, _zeros(C_HASHES_BYTES), _zeros(C_LEVELS), ch, n)


cpdef bytes encode_node(tuple node):
    """``u8 kind[16]`` (0 empty, 1 leaf, 2 internal, 3 bucket, per slot) then per present
    slot in index order: internal ``hash(32) version(u64)``, leaf ``key(32)
    value_hash(32) value_version(u64)``, bucket ``u8 count`` then ``count`` leaves."""
    cdef tuple slots = <tuple>node[0]
    cdef bytearray kinds = <bytearray>node[2]
    cdef Py_ssize_t total = C_RADIX, pos
    cdef int i
    cdef bytes out, e
    cdef char* w
    for i in range(C_RADIX):
        s = slots[i]
        if s is not None:
            total += PyBytes_GET_SIZE(<bytes>(<tuple>s)[len(<tuple>s) - 1])
    out = PyBytes_FromStringAndSize(NULL, total)
    w = PyBytes_AS_STRING(out)
    memcpy(w, PyByteArray_AS_STRING(kinds) + C_SLOT_BASE, C_RADIX)
    pos = C_RADIX
    for i in range(C_RADIX):
        s = slots[i]
        if s is not None:
            e = <bytes>(<tuple>s)[len(<tuple>s) - 1]
            memcpy(w + pos, PyBytes_AS_STRING(e), PyBytes_GET_SIZE(e))
            pos += PyBytes_GET_SIZE(e)
    return out


def decode_bucket(bytes raw not None, Py_ssize_t pos, int bit_depth):
    """Bucket slot encoded at ``pos`` (``u8 count`` then leaves) sitting at ``bit_depth``;
    returns ``(slot, end)``."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(raw)
    cdef const uint8_t* r = _p(raw)
    cdef int count, k
    if pos < 0 or pos >= n:
        raise ValueError("truncated bucket")
    count = r[pos]
    if not 2 <= count <= C_BUCKET_MAX:
        raise ValueError(f"bucket of {count} keys")
    pos += 1
    leaves = []
    for k in range(count):
        if pos + C_LEAF_ENC > n:
            raise ValueError("truncated bucket")
        leaves.append(_leaf_from(r + pos))
        pos += C_LEAF_ENC
    return make_bucket(leaves, bit_depth), pos


cpdef tuple decode_node(bytes raw, int depth):
    """Node at nibble ``depth`` (its buckets sit at bit depth ``4 * (depth + 1)``)."""
    if raw is None:
        raise TypeError("node record is None")
    cdef Py_ssize_t n = PyBytes_GET_SIZE(raw), pos = C_RADIX
    cdef const uint8_t* r = _p(raw)
    cdef int i
    cdef uint8_t kind
    cdef bytes enc
    if n < C_RADIX:
        raise ValueError("truncated node header")
    slots = [None] * C_RADIX
    for i in range(C_RADIX):
        kind = r[i]
        if kind == C_K_EMPTY:
            continue
        if kind == C_K_LEAF:
            if pos + C_LEAF_ENC > n:
                raise ValueError("truncated leaf slot")
            slots[i] = _leaf_from(r + pos)
            pos += C_LEAF_ENC
        elif kind == C_K_INTERNAL:
            if pos + C_INTERNAL_ENC > n:
                raise ValueError("truncated internal slot")
            enc = PyBytes_FromStringAndSize(<const char*>(r + pos), C_INTERNAL_ENC)
            slots[i] = _acyclic((_b32(r + pos), _rd64(r + pos + 32), enc))
            pos += C_INTERNAL_ENC
        elif kind == C_K_BUCKET:
            slots[i], pos = decode_bucket(raw, pos, 4 * (depth + 1))
        else:
            raise ValueError(f"unknown slot kind {kind}")
    if pos != n:
        raise ValueError("node encoding has trailing bytes")
    return make_node(slots)


# ------------------------------------------------------------------ the block pass

cdef void _sort_entries(list entries) except *:
    """Sort update items / leaf slots by key in place (insertion sort: a handful of entries)."""
    cdef Py_ssize_t n = len(entries), i, j
    if n > 16:
        entries.sort(key=_py_entry_key)
        return
    for i in range(1, n):
        e = entries[i]
        k = _entry_key(<tuple>e)
        j = i - 1
        while j >= 0 and memcmp(_p(_entry_key(<tuple>entries[j])), _p(k), 32) > 0:
            entries[j + 1] = entries[j]
            j -= 1
        entries[j + 1] = e


def _py_entry_key(e):
    return _entry_key(<tuple>e)


cdef class BlockBuilder:
    """One ``apply``: recomputes each touched node once and collects what to write.

    Update items are ``(key, value_hash, value, value_version)``; value_hash None
    deletes; value_version None marks a value that still has to be written.
    ``nodes`` (db key -> node), ``values`` ((db key, value)), ``stale`` (db keys made
    unreachable) and ``superseded`` (node db keys replaced) are what ``apply`` writes.
    """

    cdef object tree
    cdef dict cache
    cdef object version
    cdef bytes vbytes
    cdef readonly dict nodes
    cdef readonly list values
    cdef readonly list stale
    cdef readonly list superseded

    def __init__(self, tree, version):
        self.tree = tree
        self.cache = tree._cache
        self.version = version
        self.vbytes = _u64(version)
        self.nodes = {}
        self.values = []
        self.stale = []
        self.superseded = []

    def encoded_nodes(self) -> list:
        """``(db key, stored bytes)`` of every node this block wrote."""
        return [(k, encode_node(<tuple>v)) for k, v in self.nodes.items()]

    cpdef object update(self, object slot, int depth, list items):
        """New slot for the subtree ``slot`` at nibble ``depth`` after ``items`` (same prefix)."""
        cdef tuple tslot, node, slots, new_node
        cdef list new_slots = None
        cdef int changed[C_RADIX]
        cdef int nch = 0, kind, n, i, j, nib, byte_at, odd, count
        cdef bytes path, old_key, h
        if slot is None:
            return self.build(depth, [it for it in items if (<tuple>it)[1] is not None])
        tslot = <tuple>slot
        kind = len(tslot)
        if kind == 5:
            return self._merge(slot, (slot,), depth, items)
        if kind == 4:
            return self._merge(slot, <tuple>tslot[1], depth, items)
        path = _node_path(depth, <bytes>(<tuple>items[0])[0])
        old_key = b"n" + _u64(tslot[1]) + path
        cached = self.cache.get(old_key)
        if cached is None:
            cached = self.tree._load(old_key, tslot[0], self.tree._latest)
        node = <tuple>cached
        slots = <tuple>node[0]
        n = len(items)
        byte_at = depth >> 1
        odd = depth & 1
        i = 0
        while i < n:
            nib = _nib(<bytes>(<tuple>items[i])[0], byte_at, odd)
            j = i + 1
            while j < n and _nib(<bytes>(<tuple>items[j])[0], byte_at, odd) == nib:
                j += 1
            old = slots[nib]
            new = self.update(old, depth + 1, items if (i == 0 and j == n) else items[i:j])
            if new is not old:
                if new_slots is None:
                    new_slots = list(slots)
                new_slots[nib] = new
                changed[nch] = nib
                nch += 1
            i = j
        if new_slots is None:
            return slot
        self.stale.append(old_key)
        self.superseded.append(old_key)
        count = 0
        remaining = None
        for i in range(C_RADIX):
            if new_slots[i] is not None:
                count += 1
                remaining = new_slots[i]
        if count == 0:
            return None
        if count == 1 and len(<tuple>remaining) == 5:
            return remaining  # a lone leaf moves up (hashing.py: shortcut leaves)
        new_node = _hash_node_c(new_slots, _copy(<bytearray>node[1]), _copy(<bytearray>node[2]),
                                changed, nch)
        self.nodes[b"n" + self.vbytes + path] = new_node
        h = _b32(<const uint8_t*>PyByteArray_AS_STRING(<bytearray>new_node[1]) + 32)
        return _acyclic((h, self.version, h + self.vbytes))

    cdef object _merge(self, object slot, tuple leaves, int depth, list items):
        """Updates landing on a leaf or bucket slot: the merged keys become a leaf, a
        bucket, or (more than BUCKET_MAX) a node; an unchanged slot is returned as is."""
        cdef tuple item, lf, match
        cdef list entries
        cdef dict by_key
        cdef bint changed
        if len(items) == 1:
            # Common case: one update meets a leaf or a small bucket.
            item = <tuple>items[0]
            key = item[0]
            match = None
            for x in leaves:
                lf = <tuple>x
                if lf[1] == key:
                    match = lf
                    break
            if match is None:
                if item[1] is None:
                    return slot
                entries = list(leaves)
                entries.append(item)
            else:
                if match[2] == item[1]:
                    return slot
                self.stale.append(b"v" + key + _u64(match[3]))
                entries = [x for x in leaves if x is not match]
                if item[1] is not None:
                    entries.append(item)
            _sort_entries(entries)
            return self.build(depth, entries)
        by_key = {(<tuple>x)[1]: x for x in leaves}
        entries = []
        changed = False
        for x in items:
            item = <tuple>x
            key, vh = item[0], item[1]
            old = by_key.pop(key, None)
            if old is not None:
                if (<tuple>old)[2] == vh:
                    entries.append(old)
                    continue
                self.stale.append(b"v" + key + _u64((<tuple>old)[3]))
            if vh is not None:
                entries.append(item)
                changed = True
            elif old is not None:
                changed = True
        if not changed:
            return slot
        if by_key:
            entries.extend(by_key.values())
            _sort_entries(entries)
        return self.build(depth, entries)

    cpdef object build(self, int depth, list entries):
        """Fresh subtree at nibble ``depth`` holding ``entries`` (sorted by key, all present).

        An entry is an update item ``(key, value_hash, value, None)`` or an existing
        leaf slot being moved (5 fields), whose value record is reused.
        """
        cdef int n = len(entries), i, j, nib, byte_at, odd, nch = 0
        cdef int changed[C_RADIX]
        cdef list slots, leaves
        cdef tuple node
        cdef bytes h
        if n == 0:
            return None
        if n <= C_BUCKET_MAX:
            leaves = [e if len(<tuple>e) == 5 else self._new_leaf(<tuple>e) for e in entries]
            return leaves[0] if n == 1 else make_bucket(leaves, 4 * depth)
        slots = [None] * C_RADIX
        byte_at = depth >> 1
        odd = depth & 1
        i = 0
        while i < n:
            nib = _nib(_entry_key(<tuple>entries[i]), byte_at, odd)
            j = i + 1
            while j < n and _nib(_entry_key(<tuple>entries[j]), byte_at, odd) == nib:
                j += 1
            slots[nib] = self.build(depth + 1, entries[i:j])
            changed[nch] = nib
            nch += 1
            i = j
        node = _hash_node_c(slots, _zeros(C_HASHES_BYTES), _zeros(C_LEVELS), changed, nch)
        self.nodes[b"n" + self.vbytes + _node_path(depth, _entry_key(<tuple>entries[0]))] = node
        h = _b32(<const uint8_t*>PyByteArray_AS_STRING(<bytearray>node[1]) + 32)
        return _acyclic((h, self.version, h + self.vbytes))

    cdef tuple _new_leaf(self, tuple item):
        """Leaf slot for an update item; its value is written at this version."""
        cdef bytes key = <bytes>item[0]
        cdef bytes vh = <bytes>item[1]
        self.values.append((b"v" + key + self.vbytes, item[2]))
        return _acyclic((_leaf_hash(_p(key), _p(vh)), key, vh, self.version, key + vh + self.vbytes))


# ------------------------------------------------------------------ proof verification

cdef inline int _popcount8(uint8_t b) noexcept:
    cdef int c = 0
    while b:
        b &= b - 1
        c += 1
    return c


def verify_encoded(bytes root not None, bytes key not None, value, bytes data not None) -> bool:
    """One pass over an encoded proof (``proof.py``, format v1): the same decision as
    ``Proof.from_bytes(data).compute_root(key, value) == root`` (tests cross-check the two),
    False for anything malformed.  ``root`` and ``key`` are 32 bytes, ``value`` bytes or None."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data), start, end, j
    cdef const uint8_t* d = _p(data)
    cdef const uint8_t* k = _p(key)
    cdef const uint8_t* sib
    cdef int kind, depth, nbytes, pad, cnt = 0, i, nxt, full, rem
    cdef uint8_t h[32]
    cdef uint8_t buf[65]
    cdef bytes v
    if PyBytes_GET_SIZE(root) != 32 or PyBytes_GET_SIZE(key) != 32:
        return False
    if n < 4 or d[0] != 1:
        return False
    kind = d[1]
    depth = (d[2] << 8) | d[3]
    if depth > 256:
        return False
    nbytes = (depth + 7) >> 3
    start = 4 + nbytes
    if n < start:
        return False
    pad = (nbytes << 3) - depth
    if pad and (d[start - 1] & ((1 << pad) - 1)):
        return False
    for j in range(4, start):
        cnt += _popcount8(d[j])
    end = start + 32 * cnt
    if kind == 0:
        if value is None or n != end:
            return False
        if not isinstance(value, bytes):
            raise TypeError("value must be bytes")
        v = <bytes>value
        buf[0] = 0
        memcpy(buf + 1, k, 32)
        st_sha256(_p(v), PyBytes_GET_SIZE(v), buf + 33)
        st_sha256(buf, 65, h)
    elif kind == 1:
        if value is not None or n != end:
            return False
        memset(h, 0, 32)
    elif kind == 2:
        if value is not None or n != end + 64:
            return False
        if memcmp(d + end, k, 32) == 0:
            return False
        full = depth >> 3
        rem = depth & 7
        if memcmp(d + end, k, full) != 0:
            return False
        if rem and ((d[end + full] ^ k[full]) >> (8 - rem)):
            return False
        buf[0] = 0
        memcpy(buf + 1, d + end, 64)
        st_sha256(buf, 65, h)
    else:
        return False
    if depth and not _bit(d + 4, depth - 1):
        return False  # lowest sibling empty: not a canonical position
    for j in range(cnt):
        if memcmp(d + start + 32 * j, _EMPTY, 32) == 0:
            return False  # an empty sibling must be left to the bitmap
    nxt = cnt
    for i in range(depth - 1, -1, -1):
        if _bit(d + 4, i):
            nxt -= 1
            sib = d + start + 32 * nxt
        else:
            sib = _EMPTY
        if _bit(k, i):
            _node_into(h, sib, h)
        else:
            _node_into(h, h, sib)
    return memcmp(h, _p(root), 32) == 0


# ------------------------------------------------------------------ proof walk

cdef enum:
    C_KIND_INCLUSION = 0
    C_KIND_ABSENT_EMPTY = 1
    C_KIND_ABSENT_OTHER_LEAF = 2


cdef object _leaf_proof(object proof_cls, bytes key, tuple leaf, list siblings):
    if leaf[1] == key:
        return proof_cls(C_KIND_INCLUSION, PyList_AsTuple(siblings))
    return proof_cls(C_KIND_ABSENT_OTHER_LEAF, PyList_AsTuple(siblings), leaf[1], leaf[2])


cdef object _bucket_proof(object proof_cls, bytes key, list leaves, int bit_depth, list siblings):
    """Continue a proof through a bucket: split its keys bit by bit along ``key``."""
    cdef const uint8_t* k = _p(key)
    cdef int bit
    cdef list own, other
    while len(leaves) > 1:
        bit = _bit(k, bit_depth)
        own = []
        other = []
        for lf in leaves:
            if _bit(_p(<bytes>(<tuple>lf)[1]), bit_depth) == bit:
                own.append(lf)
            else:
                other.append(lf)
        siblings.append(_leaves_hash(other, bit_depth + 1) if other else _b32(_EMPTY))
        leaves = own
        bit_depth += 1
    if not leaves:
        return proof_cls(C_KIND_ABSENT_EMPTY, PyList_AsTuple(siblings))
    return _leaf_proof(proof_cls, key, <tuple>leaves[0], siblings)


def find_leaf(tree, slot, bytes key not None, version):
    """The leaf slot of ``key`` (32 bytes) below the root ``slot`` of ``version``, or None:
    the walk of ``StateTree.get``, with nodes from ``tree._cache`` or ``tree._load``
    (verified against the hash their parent commits to)."""
    cdef int depth = 0
    cdef dict cache = tree._cache
    cdef Py_ssize_t n
    if PyBytes_GET_SIZE(key) != 32:
        raise ValueError("key must be 32 bytes")
    while slot is not None:
        n = len(<tuple>slot)
        if n == 3:
            db_key = b"n" + _u64((<tuple>slot)[1]) + _node_path(depth, key)
            cached = cache.get(db_key)
            if cached is None:
                cached = tree._load(db_key, (<tuple>slot)[0], version)
            slot = (<tuple>(<tuple>cached)[0])[_nib(key, depth >> 1, depth & 1)]
            depth += 1
            continue
        if n == 5:
            return slot if (<tuple>slot)[1] == key else None
        for leaf in (<tuple>slot)[1]:
            if (<tuple>leaf)[1] == key:
                return leaf
        return None
    return None


def prove_path(tree, slot, bytes key not None, version, proof_cls):
    """Proof for ``key`` (32 bytes) below the root ``slot`` of ``version``: the siblings of
    the binary path through each 16-ary node (4 levels), then through a bucket if the path
    ends in one.  Nodes come from ``tree._cache`` or ``tree._load`` (verified)."""
    cdef list siblings = []
    cdef int depth = 0, nib, level, pos, child, width, first, i
    cdef uint8_t kind
    cdef tuple node, slots
    cdef const uint8_t* H
    cdef const uint8_t* K
    cdef dict cache = tree._cache
    if PyBytes_GET_SIZE(key) != 32:
        raise ValueError("key must be 32 bytes")
    while True:
        if slot is None:
            return proof_cls(C_KIND_ABSENT_EMPTY, PyList_AsTuple(siblings))
        n = len(<tuple>slot)
        if n == 5:
            return _leaf_proof(proof_cls, key, <tuple>slot, siblings)
        if n == 4:
            return _bucket_proof(proof_cls, key, list(<tuple>(<tuple>slot)[1]), 4 * depth, siblings)
        db_key = b"n" + _u64((<tuple>slot)[1]) + _node_path(depth, key)
        cached = cache.get(db_key)
        if cached is None:
            cached = tree._load(db_key, (<tuple>slot)[0], version)
        node = <tuple>cached
        slots = <tuple>node[0]
        H = <const uint8_t*>PyByteArray_AS_STRING(<bytearray>node[1])
        K = <const uint8_t*>PyByteArray_AS_STRING(<bytearray>node[2])
        nib = _nib(key, depth >> 1, depth & 1)
        pos = 1
        for level in range(4):
            child = (pos << 1) | ((nib >> (3 - level)) & 1)
            siblings.append(_b32(H + ((child ^ 1) << 5)))
            pos = child
            kind = K[pos]
            if kind == C_K_EMPTY:
                return proof_cls(C_KIND_ABSENT_EMPTY, PyList_AsTuple(siblings))
            if kind == C_K_LEAF:
                width = 1 << (3 - level)
                first = (pos << (3 - level)) - C_SLOT_BASE
                for i in range(first, first + width):
                    if slots[i] is not None:
                        return _leaf_proof(proof_cls, key, <tuple>slots[i], siblings)
                raise ValueError("leaf cell without a leaf slot")
        slot = slots[nib]
        depth += 1
