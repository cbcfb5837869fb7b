/*
 * scan_simd.h - SIMD kernels for the line scanner (private to scan.c).
 *
 * Two kinds of kernel:
 *
 *   find_win_sse2(), find_win_avx2()
 *              first byte in [p, e) that is '"', '\\', < 0x20 or >= 0x80,
 *              through a cached mask of a 64-byte window of the line
 *   utf8_avx2()
 *              validate up to 32 bytes of non-ASCII string contents at once
 *              (AVX2 only: the nibble lookups need pshufb; the SSE2 path
 *              validates non-ASCII runs byte-wise, like the scalar one)
 *
 * The AVX2 kernels carry __attribute__((target("avx2"))) and are only ever
 * inlined into scan.c's AVX2 instance of the scanner, which is only called
 * when __builtin_cpu_supports("avx2") said yes.
 *
 * No kernel reads outside [base, e): a window that would run past e is
 * loaded so that it ends exactly at e (when the line is long enough) and the
 * bytes before p are shifted out of the mask; a line shorter than a window
 * is copied once into a padded local buffer.
 */
#ifndef AB_SCAN_SIMD_H
#define AB_SCAN_SIMD_H

#include <stdint.h>
#include <string.h>

/* -DAB_SCAN_NO_SIMD builds the portable scalar-only scanner (for testing). */
#if !defined(AB_SCAN_NO_SIMD) && \
	(defined(__x86_64__) || (defined(__i386__) && defined(__SSE2__)))
#define AB_SCAN_HAVE_X86 1
#include <immintrin.h>
#else
#define AB_SCAN_HAVE_X86 0
#endif

#if AB_SCAN_HAVE_X86

#define AB_AVX2 __attribute__((target("avx2")))

/* ---- SSE2 ---------------------------------------------------------------- */

/* Bit i set when byte i of v is '"', '\\', < 0x20 or >= 0x80. */
static inline __attribute__((always_inline))
unsigned special16(__m128i v)
{
	/* signed compare: 0x80..0xff are negative, so "< 0x20" takes them too */
	__m128i m = _mm_or_si128(
		_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
			     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
		_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));

	return (unsigned)_mm_movemask_epi8(m);
}

/* ---- AVX2 ---------------------------------------------------------------- */

static inline __attribute__((always_inline)) AB_AVX2
uint32_t special32(__m256i v)
{
	__m256i m = _mm256_or_si256(
		_mm256_or_si256(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"')),
				_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\'))),
		_mm256_cmpgt_epi8(_mm256_set1_epi8(0x20), v));

	return (uint32_t)_mm256_movemask_epi8(m);
}

static inline __attribute__((always_inline)) AB_AVX2
__m256i load32(const unsigned char *p)
{
	return _mm256_loadu_si256((const __m256i *)(const void *)p);
}

/* ---- 64-byte windows ------------------------------------------------------ */

/*
 * The mask of special bytes ('"', '\\', < 0x20, >= 0x80) of one 64-byte window
 * of the line, base[off .. off+64), kept across strings: a key, its value and
 * the next key usually share a window, so most strings end with a shift and
 * a tzcnt instead of a load-compare-movemask chain.  The mask is a function
 * of the bytes only, so it stays valid wherever the scanner goes.
 */
struct ab_win {
	size_t off;             /* (size_t)-128 when empty: never matches */
	uint64_t mask;
};

#define AB_WIN_EMPTY { (size_t)-128, 0 }

static inline __attribute__((always_inline))
uint64_t special64_sse2(const unsigned char *p)
{
	const __m128i *v = (const __m128i *)(const void *)p;

	return (uint64_t)special16(_mm_loadu_si128(v)) |
	       (uint64_t)special16(_mm_loadu_si128(v + 1)) << 16 |
	       (uint64_t)special16(_mm_loadu_si128(v + 2)) << 32 |
	       (uint64_t)special16(_mm_loadu_si128(v + 3)) << 48;
}

static inline __attribute__((always_inline)) AB_AVX2
uint64_t special64_avx2(const unsigned char *p)
{
	return (uint64_t)special32(load32(p)) |
	       (uint64_t)special32(load32(p + 32)) << 32;
}

/*
 * First special byte in [p, e), or e, through the window *w (base is the
 * start of the line).  Loads never leave [base, e): near the end the window
 * is the last 64 bytes of the line; a line under 64 bytes is copied once
 * into a buffer padded with plain bytes.
 */
#define AB_DEFINE_FIND_WIN(NAME, ATTR, SPECIAL64)                             \
static inline ATTR const unsigned char *                                      \
NAME(const unsigned char *p, const unsigned char *e,                          \
     const unsigned char *base, struct ab_win *w)                            \
{                                                                             \
	size_t off = (size_t)(p - base) - w->off;                             \
	uint64_t m;                                                           \
                                                                              \
	if (off < 64) {                                                       \
		m = w->mask >> off;                                           \
		if (m)                                                        \
			return p + __builtin_ctzll(m);                        \
		p = base + w->off + 64;                                       \
		if (p >= e)                                                   \
			return e;                                             \
	}                                                                     \
	while (e - p >= 64) {                                                 \
		w->off = (size_t)(p - base);                                  \
		w->mask = m = SPECIAL64(p);                                   \
		if (m)                                                        \
			return p + __builtin_ctzll(m);                        \
		p += 64;                                                      \
	}                                                                     \
	if (p == e)                                                           \
		return e;                                                     \
	if (e - base >= 64) {                                                 \
		const unsigned char *t = e - 64;                              \
                                                                              \
		w->off = (size_t)(t - base);                                  \
		w->mask = SPECIAL64(t);                                       \
	} else {                                                              \
		unsigned char tmp[64] __attribute__((aligned(32)));           \
                                                                              \
		memset(tmp, 'a', sizeof(tmp));                                \
		memcpy(tmp, base, (size_t)(e - base));                        \
		w->off = 0;                                                   \
		w->mask = SPECIAL64(tmp);                                     \
	}                                                                     \
	m = w->mask >> ((size_t)(p - base) - w->off);                         \
	return m ? p + __builtin_ctzll(m) : e;                                \
}

AB_DEFINE_FIND_WIN(find_win_sse2, __attribute__((always_inline)), special64_sse2)
AB_DEFINE_FIND_WIN(find_win_avx2, AB_AVX2, special64_avx2)

/*
 * The three nibble tables of the lookup algorithm: an error bit survives the
 * AND of (high nibble of the previous byte, its low nibble, high nibble of
 * this byte) only for a forbidden pair.
 */
enum {
	U8_TOO_SHORT = 1 << 0,  /* 11______ 0_______ or 11______ 11______ */
	U8_TOO_LONG = 1 << 1,   /* 0_______ 10______ */
	U8_OVERLONG_3 = 1 << 2, /* 11100000 100_____ */
	U8_TOO_LARGE = 1 << 3,  /* 11110100 1001____ and above */
	U8_SURROGATE = 1 << 4,  /* 11101101 101_____ */
	U8_OVERLONG_2 = 1 << 5, /* 1100000_ 10______ */
	U8_TOO_LARGE_1000 = 1 << 6,     /* 11110101 1000____ and above */
	U8_OVERLONG_4 = 1 << 6, /* 11110000 1000____ */
	U8_TWO_CONTS = 1 << 7,  /* 10______ 10______ */
	U8_CARRY = U8_TOO_SHORT | U8_TOO_LONG | U8_TWO_CONTS,
};

static const uint8_t utf8_byte1_high[16] __attribute__((aligned(16))) = {
	U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG,
	U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG, U8_TOO_LONG,
	U8_TWO_CONTS, U8_TWO_CONTS, U8_TWO_CONTS, U8_TWO_CONTS,
	U8_TOO_SHORT | U8_OVERLONG_2,
	U8_TOO_SHORT,
	U8_TOO_SHORT | U8_OVERLONG_3 | U8_SURROGATE,
	U8_TOO_SHORT | U8_TOO_LARGE | U8_TOO_LARGE_1000 | U8_OVERLONG_4,
};

static const uint8_t utf8_byte1_low[16] __attribute__((aligned(16))) = {
	U8_CARRY | U8_OVERLONG_3 | U8_OVERLONG_2 | U8_OVERLONG_4,
	U8_CARRY | U8_OVERLONG_2,
	U8_CARRY,
	U8_CARRY,
	U8_CARRY | U8_TOO_LARGE,
	U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
	U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
	U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
	U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
	U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
	U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
	U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
	U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
	U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000 | U8_SURROGATE,
	U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
	U8_CARRY | U8_TOO_LARGE | U8_TOO_LARGE_1000,
};

static const uint8_t utf8_byte2_high[16] __attribute__((aligned(16))) = {
	U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT,
	U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT,
	U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS | U8_OVERLONG_3 |
		U8_TOO_LARGE_1000 | U8_OVERLONG_4,
	U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS | U8_OVERLONG_3 | U8_TOO_LARGE,
	U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS | U8_SURROGATE | U8_TOO_LARGE,
	U8_TOO_LONG | U8_OVERLONG_2 | U8_TWO_CONTS | U8_SURROGATE | U8_TOO_LARGE,
	U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT, U8_TOO_SHORT,
};

/* A 16-byte table in both 128-bit lanes (vpshufb looks up per lane). */
static inline __attribute__((always_inline)) AB_AVX2
__m256i table32(const uint8_t *t)
{
	return _mm256_broadcastsi128_si256(
		_mm_load_si128((const __m128i *)(const void *)t));
}

/*
 * Vectorised UTF-8 check of the window q[0..32) (Keiser & Lemire, "Validating
 * UTF-8 in less than one instruction per byte", the lookup algorithm).  The
 * previous bytes come from unaligned loads at q-1, q-2, q-3: they are ASCII,
 * JSON structure or the ends of sequences already found complete, so they
 * raise no error of their own.
 *
 * q is at a non-ASCII byte on a sequence boundary.  Only the bytes before the
 * first '"', '\\' or control byte L (and L itself, where a cut sequence would
 * show) are looked at.  Returns q + B, B >= 1, where every sequence before B
 * is complete and valid and q[B] starts a new one (or is ASCII); or NULL when
 * the window has an error or is too short to be worth it: the caller then
 * goes byte-wise and finds the exact offset exactly as the scalar path does.
 */
static inline AB_AVX2
const unsigned char *utf8_avx2(const unsigned char *q, const unsigned char *e,
			       const unsigned char *base)
{
	__m256i in, p1, p2, p3, nib, b1h, b1l, b2h, sc, must, err;
	uint32_t sp, lim, bad, noncont;
	unsigned m;

	if (e - q < 32 || q - base < 3)
		return NULL;
	in = load32(q);
	sp = (uint32_t)_mm256_movemask_epi8(_mm256_or_si256(
		_mm256_or_si256(_mm256_cmpeq_epi8(in, _mm256_set1_epi8('"')),
				_mm256_cmpeq_epi8(in, _mm256_set1_epi8('\\'))),
		_mm256_cmpeq_epi8(_mm256_min_epu8(in, _mm256_set1_epi8(0x1f)),
				  in)));
	m = sp ? (unsigned)__builtin_ctz(sp) + 1 : 32;
	if (m < 5)
		return NULL;
	lim = m == 32 ? ~(uint32_t)0 : ((uint32_t)1 << m) - 1;
	p1 = load32(q - 1);
	p2 = load32(q - 2);
	p3 = load32(q - 3);
	nib = _mm256_set1_epi8(0x0f);

	b1h = _mm256_shuffle_epi8(table32(utf8_byte1_high),
				  _mm256_and_si256(_mm256_srli_epi16(p1, 4), nib));
	b1l = _mm256_shuffle_epi8(table32(utf8_byte1_low),
				  _mm256_and_si256(p1, nib));
	b2h = _mm256_shuffle_epi8(table32(utf8_byte2_high),
				  _mm256_and_si256(_mm256_srli_epi16(in, 4), nib));
	sc = _mm256_and_si256(_mm256_and_si256(b1h, b1l), b2h);
	/* third and fourth bytes of 3- and 4-byte sequences */
	must = _mm256_and_si256(_mm256_or_si256(
		_mm256_subs_epu8(p2, _mm256_set1_epi8(0xe0 - 0x80)),
		_mm256_subs_epu8(p3, _mm256_set1_epi8((char)(0xf0 - 0x80)))),
		_mm256_set1_epi8((char)0x80));
	err = _mm256_xor_si256(must, sc);
	bad = ~(uint32_t)_mm256_movemask_epi8(
		_mm256_cmpeq_epi8(err, _mm256_setzero_si256()));
	if (bad & lim)
		return NULL;
	/* continuation bytes are 0x80..0xbf: below -64 as signed */
	noncont = ~(uint32_t)_mm256_movemask_epi8(
		_mm256_cmpgt_epi8(_mm256_set1_epi8(-64), in));
	noncont &= lim & ~(uint32_t)1;
	if (!noncont)
		return NULL;
	return q + (31 - __builtin_clz(noncont));
}

#endif /* AB_SCAN_HAVE_X86 */
#endif
