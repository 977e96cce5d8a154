/*
 * Security-analysis metrics (issue 6; formulas and references in
 * docs/METRICS.md). Pure functions of their arguments: no global state;
 * every random choice comes from a caller-given seed through splitmix64,
 * so a seed reproduces a result on every machine.
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Deterministic sampling.                                             */

/* splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014): a statistically good 64-bit generator whose
 * whole state is one counter. Not a source of secrecy: sampling only. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0: Lemire's multiply-shift on the top 32 bits
 * would bias by n/2^32; the 64-bit modulo biases by at most n/2^64, far
 * below anything a statistic here can see. */
static uint64_t below(uint64_t *state, uint64_t n)
{
    return splitmix64(state) % n;
}

static uint32_t sample_at(const mc_plane *p, size_t pixel)
{
    size_t i = pixel * p->stride;
    if (p->bits == 8)
        return ((const uint8_t *)p->samples)[i];
    return ((const uint16_t *)p->samples)[i];
}

/* At most 2^32 samples (MC_PLANE_MAX_SAMPLES): the exact sums of the
 * correlations (sums_add) hold n * 65535^2 in 64 bits up to there, and
 * no image the command reads (--max-pixels: at most 4G) has more. */
static bool plane_ok(const mc_plane *p)
{
    return p != NULL && p->samples != NULL && p->width > 0 && p->height > 0 && p->stride > 0 &&
           (p->bits == 8 || p->bits == 16) &&
           (uint64_t)p->width * p->height <= MC_PLANE_MAX_SAMPLES;
}

static bool same_geometry(const mc_plane *a, const mc_plane *b)
{
    return plane_ok(a) && plane_ok(b) && a->width == b->width && a->height == b->height &&
           a->bits == b->bits;
}

mc_err mc_plane_of(const mc_image *img, unsigned channel, mc_plane *out)
{
    if (img == NULL || out == NULL || channel >= img->channels || img->samples == NULL)
        return MC_EINVAL;
    if (img->spent) /* encrypted in place: not the samples it was decoded with */
        return MC_ESTATE;
    out->samples = img->samples + (size_t)channel * (img->bits / 8);
    out->width = img->width;
    out->height = img->height;
    out->stride = img->channels;
    out->bits = img->bits;
    return MC_OK;
}

/* ------------------------------------------------------------------ */
/* Histogram, chi-square, entropy.                                     */

mc_err mc_metric_histogram(const mc_plane *p, uint64_t *hist, size_t n_bins)
{
    size_t n;

    if (!plane_ok(p) || hist == NULL || n_bins != ((size_t)1 << p->bits))
        return MC_EINVAL;
    memset(hist, 0, n_bins * sizeof *hist);
    n = (size_t)p->width * p->height;
    if (p->bits == 8) {
        const uint8_t *s = p->samples;
        for (size_t i = 0; i < n; i++)
            hist[s[i * p->stride]]++;
    } else {
        const uint16_t *s = p->samples;
        for (size_t i = 0; i < n; i++)
            hist[s[i * p->stride]]++;
    }
    return MC_OK;
}

static uint64_t hist_total(const uint64_t *hist, size_t n_bins)
{
    uint64_t t = 0;
    for (size_t i = 0; i < n_bins; i++)
        t += hist[i];
    return t;
}

/* chi^2 = sum_i (o_i - e)^2 / e with e = T / n_bins (Pearson 1900). */
mc_err mc_metric_chi_square(const uint64_t *hist, size_t n_bins, double *chi2)
{
    double e, s = 0.0;
    uint64_t t;

    if (hist == NULL || chi2 == NULL || n_bins < 2)
        return MC_EINVAL;
    if ((t = hist_total(hist, n_bins)) == 0)
        return MC_EINVAL;
    e = (double)t / (double)n_bins;
    for (size_t i = 0; i < n_bins; i++) {
        double d = (double)hist[i] - e;
        s += d * d;
    }
    *chi2 = s / e;
    return MC_OK;
}

/* H = -sum_i p_i log2 p_i (Shannon 1948), p_i = o_i / T, 0 log 0 = 0. */
mc_err mc_metric_entropy(const uint64_t *hist, size_t n_bins, double *bits)
{
    double h = 0.0, t;
    uint64_t total;

    if (hist == NULL || bits == NULL || n_bins == 0)
        return MC_EINVAL;
    if ((total = hist_total(hist, n_bins)) == 0)
        return MC_EINVAL;
    t = (double)total;
    for (size_t i = 0; i < n_bins; i++)
        if (hist[i] > 0) {
            double p = (double)hist[i] / t;
            h -= p * log2(p);
        }
    *bits = h;
    return MC_OK;
}

/* Phi^-1(1 - alpha), the upper alpha point of the standard normal, as
 * -Phi^-1(alpha): 1 - alpha rounds away alpha's low digits (z(1e-6) off
 * in the 11th digit) and is 1 below 1.1e-16, whose quantile is infinite
 * (found by fuzz_metrics). A two-sided alpha / 2 of the least subnormal
 * is 0: the least subnormal stands for it. */
static double upper_z(double alpha)
{
    return -mc_normal_quantile(alpha > 0.0 ? alpha : DBL_TRUE_MIN);
}

/* The distribution of the entropy of T uniform samples over K = 2^D
 * values, computed rather than simulated. H = log2 T - (1/T) sum_i
 * f(c_i), f(c) = c log2 c, and each count c_i is Binomial(T, q = 1/K), so
 *   E[H] = log2 T - (K/T) E[f(c)]                      (exact).
 * For the variance the counts are treated as independent Poisson counts
 * conditioned on their sum T (Poissonization), which removes from Var f
 * the part explained by the fixed sum:
 *   Var[H] ~ (K/T^2) (Var f(c) - Cov(f(c), c)^2 / Var c).
 * The one-sided critical value is H* = E[H] - Phi^-1(1 - alpha) sd[H]:
 * random data gives H >= H* with probability ~ 1 - alpha (checked by
 * simulation in tests/test_metrics.c). For many samples per bin E[H] is
 * the Miller–Madow D - (K - 1)/(2 T ln 2); for a 16-bit 512x512 image
 * (4 samples per bin) that formula is 0.012 bit too high. */
mc_err mc_entropy_critical(uint64_t n_samples, uint8_t bits, double alpha, double *mean,
                           double *h_star)
{
    double k, t, q, lambda, ratio, span, w, f0, f1, sw = 0, eg = 0, eg2 = 0, egd = 0, ed = 0,
                                                     ed2 = 0;
    double var_g, var_d, cov, var_h, mu;
    uint64_t mode, lo, hi;

    if (n_samples == 0 || (bits != 8 && bits != 16) || !(alpha > 0.0 && alpha < 1.0) ||
        mean == NULL || h_star == NULL)
        return MC_EINVAL;
    k = (double)((uint32_t)1 << bits);
    t = (double)n_samples;
    q = 1.0 / k;
    lambda = t * q;
    ratio = q / (1.0 - q);
    /* Binomial weights by the ratio p(c+1)/p(c) = (T-c)/(c+1) q/(1-q),
     * from the mode outwards (no lgamma of huge T), then normalized. */
    mode = (uint64_t)floor((t + 1.0) * q);
    if (mode > n_samples)
        mode = n_samples;
    span = 40.0 * sqrt(lambda) + 40.0;
    lo = (double)mode > span ? mode - (uint64_t)span : 0;
    hi = (double)(n_samples - mode) > span ? mode + (uint64_t)span : n_samples;
    /* The variance term needs Var f - Cov(f, c)^2 / Var c, about 1 where
     * each part is about lambda (log2 lambda)^2: from raw moments (E f^2 -
     * (E f)^2) it cancelled to nothing past lambda = 2^20 (the critical
     * value of 2^28 8-bit samples 2.3 times too far from the mean). The
     * residual is the same for f less any linear function of c, so the
     * moments are taken of g = f - f0 - f1 d, with d = c - mode and
     * f0 + f1 d the tangent at the mode: g is f's curvature, of order 1
     * near the mode, and d is of order sqrt(lambda). E f is then
     * f0 + f1 E d + E g, also without the rounding of a sum of f. */
    f0 = mode > 1 ? (double)mode * log2((double)mode) : 0.0;
    f1 = mode > 0 ? log2((double)mode) + 1.0 / M_LN2 : 0.0;
    for (int dir = 0; dir < 2; dir++) {
        w = 1.0;
        for (uint64_t c = mode;;) {
            double cd = (double)c, f = c > 1 ? cd * log2(cd) : 0.0;
            double d = c >= mode ? (double)(c - mode) : -(double)(mode - c);
            double g = (f - f0) - f1 * d;
            if (dir == 0 || c != mode) {
                sw += w;
                eg += w * g;
                eg2 += w * g * g;
                egd += w * g * d;
                ed += w * d;
                ed2 += w * d * d;
            }
            if (dir == 0) { /* upwards */
                if (c >= hi)
                    break;
                w *= (t - cd) / (cd + 1.0) * ratio;
                c++;
            } else { /* downwards */
                if (c <= lo)
                    break;
                w *= cd / ((t - cd + 1.0) * ratio);
                c--;
            }
        }
    }
    eg /= sw;
    eg2 /= sw;
    egd /= sw;
    ed /= sw;
    ed2 /= sw;
    var_g = eg2 - eg * eg;
    var_d = ed2 - ed * ed;
    cov = egd - eg * ed;
    var_h = var_d > 0 ? k / (t * t) * (var_g - cov * cov / var_d) : 0.0;
    mu = log2(t) - k / t * (f0 + f1 * ed + eg);
    *mean = mu;
    *h_star = mu - upper_z(alpha) * sqrt(var_h > 0 ? var_h : 0);
    return MC_OK;
}

/* Entropy of n values given through a scratch histogram that is zero on
 * entry and zero again on return (only the touched bins are cleared, so
 * a 65536-bin histogram costs O(n), not O(65536), per block). */
static double block_entropy(const uint32_t *v, size_t n, uint32_t *scratch)
{
    double h = 0.0;

    for (size_t i = 0; i < n; i++)
        scratch[v[i]]++;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = scratch[v[i]];
        if (c > 0) { /* each bin counted once, then cleared */
            double p = (double)c / (double)n;
            h -= p * log2(p);
            scratch[v[i]] = 0;
        }
    }
    return h;
}

/* The side of the largest square block of at most block_pixels pixels:
 * floor(sqrt(block_pixels)), corrected where the double's square root
 * rounds across an integer. */
static uint32_t block_side(unsigned block_pixels)
{
    uint32_t side = (uint32_t)sqrt((double)block_pixels);

    while ((uint64_t)(side + 1) * (side + 1) <= block_pixels)
        side++;
    while ((uint64_t)side * side > block_pixels)
        side--;
    return side;
}

/* Wu, Zhou, Palmieri, Noonan, Agaian, "Local Shannon entropy measure with
 * statistical tests for image randomness", Information Sciences 222
 * (2013): the mean entropy of k non-overlapping blocks of T_B pixels.
 * Blocks here are squares of side floor(sqrt(T_B)) (44 for 1936) on the
 * grid of such squares; k distinct grid cells are drawn from seed
 * (partial Fisher–Yates), which makes them non-overlapping. */
mc_err mc_metric_local_entropy(const mc_plane *p, unsigned k, unsigned block_pixels,
                               uint64_t seed, double *mean)
{
    uint32_t side, gx, gy, *cells = NULL, *vals = NULL, *scratch = NULL;
    size_t n_cells, bs;
    uint64_t st = seed;
    double sum = 0.0;

    if (!plane_ok(p) || mean == NULL || k == 0 || block_pixels == 0)
        return MC_EINVAL;
    side = block_side(block_pixels);
    gx = p->width / side;
    gy = p->height / side;
    n_cells = (size_t)gx * gy;
    if (side == 0 || n_cells < k)
        return MC_EINVAL;
    bs = (size_t)side * side;
    cells = malloc(n_cells * sizeof *cells);
    vals = malloc(bs * sizeof *vals);
    scratch = calloc((size_t)1 << p->bits, sizeof *scratch);
    if (cells == NULL || vals == NULL || scratch == NULL) {
        free(cells);
        free(vals);
        free(scratch);
        return MC_ENOMEM;
    }
    for (size_t i = 0; i < n_cells; i++)
        cells[i] = (uint32_t)i;
    for (unsigned b = 0; b < k; b++) {
        size_t j = b + (size_t)below(&st, n_cells - b), m = 0;
        uint32_t c = cells[j], x0, y0;
        cells[j] = cells[b];
        cells[b] = c;
        x0 = (c % gx) * side;
        y0 = (c / gx) * side;
        for (uint32_t y = 0; y < side; y++)
            for (uint32_t x = 0; x < side; x++)
                vals[m++] = sample_at(p, (size_t)(y0 + y) * p->width + x0 + x);
        sum += block_entropy(vals, bs, scratch);
    }
    *mean = sum / k;
    free(cells);
    free(vals);
    free(scratch);
    return MC_OK;
}

/* The local entropy of a uniformly random image depends only on k and on
 * the block size (its blocks are i.i.d. uniform samples), so the
 * simulation draws n_trials·k blocks of uniform samples directly and
 * estimates the mean mu and standard deviation sigma of one block's
 * entropy. The mean of k blocks is then close to normal (central limit),
 * and the interval is mu -+ Phi^-1(1 - alpha/2) sigma / sqrt(k): the
 * construction of Wu et al. 2013 §4, with mu and sigma simulated instead
 * of tabled. */
mc_err mc_local_entropy_reference(uint32_t width, uint32_t height, uint8_t bits, unsigned k,
                                  unsigned block_pixels, unsigned n_trials, double alpha,
                                  uint64_t seed, double *lo, double *hi)
{
    uint32_t side, *vals = NULL, *scratch = NULL;
    uint64_t st = seed, mask = (bits == 8) ? 0xff : 0xffff;
    size_t bs, n_blocks;
    double sum = 0.0, sum2 = 0.0, mu, sd, z;

    if ((bits != 8 && bits != 16) || k == 0 || block_pixels == 0 || n_trials < 2 ||
        !(alpha > 0.0 && alpha < 1.0) || lo == NULL || hi == NULL)
        return MC_EINVAL;
    side = block_side(block_pixels);
    if (side == 0 || (uint64_t)(width / side) * (height / side) < k)
        return MC_EINVAL;
    bs = (size_t)side * side;
    vals = malloc(bs * sizeof *vals);
    scratch = calloc((size_t)1 << bits, sizeof *scratch);
    if (vals == NULL || scratch == NULL) {
        free(vals);
        free(scratch);
        return MC_ENOMEM;
    }
    n_blocks = (size_t)n_trials * k;
    for (size_t b = 0; b < n_blocks; b++) {
        uint64_t r = 0;
        unsigned left = 0;
        double h;
        for (size_t i = 0; i < bs; i++) {
            if (left == 0) {
                r = splitmix64(&st);
                left = 64 / bits;
            }
            vals[i] = (uint32_t)(r & mask);
            r >>= bits;
            left--;
        }
        h = block_entropy(vals, bs, scratch);
        sum += h;
        sum2 += h * h;
    }
    mu = sum / (double)n_blocks;
    sd = sqrt((sum2 - sum * mu) / (double)(n_blocks - 1));
    z = upper_z(alpha / 2.0);
    *lo = mu - z * sd / sqrt((double)k);
    *hi = mu + z * sd / sqrt((double)k);
    free(vals);
    free(scratch);
    return MC_OK;
}

/* ------------------------------------------------------------------ */
/* Correlation.                                                        */

/* r = cov(x, y) / (sd(x) sd(y)) from exact integer sums: samples are at
 * most 16 bits and a plane has at most 2^32 of them (plane_ok), so
 * sum x^2 <= 2^32 (2^16 - 1)^2 < 2^64 fits in 64 bits (it was said "2^28,
 * the pixel cap", which --max-pixels raises); the final formula runs in
 * double. */
typedef struct sums {
    uint64_t n, sx, sy, sxx, syy, sxy;
} sums;

static void sums_add(sums *s, uint64_t a, uint64_t b)
{
    s->n++;
    s->sx += a;
    s->sy += b;
    s->sxx += a * a;
    s->syy += b * b;
    s->sxy += a * b;
}

/* n S_ab - S_a S_b, exactly: each product is below 2^32 * 2^64 = 2^96.
 * In double, S_xy - S_x S_y / n cancelled on an image of nearly equal
 * samples near 65535 (S_xy past 2^53): a review found r = 0.667 where the
 * exact value is 0.49999 (docs/METRICS.md promises about 1e-15). */
static double centred(uint64_t n, uint64_t sab, uint64_t sa, uint64_t sb)
{
    __int128 c = (__int128)((unsigned __int128)n * sab) - (__int128)((unsigned __int128)sa * sb);

    return (double)c;
}

static double sums_r(const sums *s)
{
    double cxy, cxx, cyy;

    if (s->n < 2)
        return NAN;
    /* Centred sums times n; the n cancels in the quotient. */
    cxy = centred(s->n, s->sxy, s->sx, s->sy);
    cxx = centred(s->n, s->sxx, s->sx, s->sx);
    cyy = centred(s->n, s->syy, s->sy, s->sy);
    if (!(cxx > 0.0) || !(cyy > 0.0))
        return NAN;
    return cxy / sqrt(cxx * cyy);
}

static void dir_offsets(mc_direction dir, uint32_t *dx, uint32_t *dy)
{
    *dx = dir == MC_DIR_VERTICAL ? 0 : 1;
    *dy = dir == MC_DIR_HORIZONTAL ? 0 : 1;
}

mc_err mc_metric_pairs(const mc_plane *p, mc_direction dir, size_t n_pairs, uint64_t seed,
                       uint32_t *x, uint32_t *y)
{
    uint32_t dx, dy, w, h;
    uint64_t st = seed;

    if (!plane_ok(p) || x == NULL || y == NULL || dir < MC_DIR_HORIZONTAL ||
        dir > MC_DIR_DIAGONAL)
        return MC_EINVAL;
    dir_offsets(dir, &dx, &dy);
    if (p->width <= dx || p->height <= dy)
        return MC_EINVAL;
    w = p->width - dx;
    h = p->height - dy;
    for (size_t i = 0; i < n_pairs; i++) {
        uint32_t px = (uint32_t)below(&st, w), py = (uint32_t)below(&st, h);
        x[i] = sample_at(p, (size_t)py * p->width + px);
        y[i] = sample_at(p, (size_t)(py + dy) * p->width + px + dx);
    }
    return MC_OK;
}

mc_err mc_metric_correlation(const mc_plane *p, mc_direction dir, size_t n_pairs, uint64_t seed,
                             double *r)
{
    uint32_t dx, dy, w, h;
    sums s = {0};

    if (!plane_ok(p) || r == NULL || dir < MC_DIR_HORIZONTAL || dir > MC_DIR_DIAGONAL)
        return MC_EINVAL;
    dir_offsets(dir, &dx, &dy);
    if (p->width <= dx || p->height <= dy)
        return MC_EINVAL; /* no adjacent pair in this direction */
    w = p->width - dx;
    h = p->height - dy;
    if (n_pairs == 0) {
        for (uint32_t yy = 0; yy < h; yy++) {
            size_t row = (size_t)yy * p->width, next = (size_t)(yy + dy) * p->width + dx;
            for (uint32_t xx = 0; xx < w; xx++)
                sums_add(&s, sample_at(p, row + xx), sample_at(p, next + xx));
        }
    } else {
        uint64_t st = seed;
        for (size_t i = 0; i < n_pairs; i++) {
            uint32_t px = (uint32_t)below(&st, w), py = (uint32_t)below(&st, h);
            sums_add(&s, sample_at(p, (size_t)py * p->width + px),
                     sample_at(p, (size_t)(py + dy) * p->width + px + dx));
        }
    }
    *r = sums_r(&s);
    return MC_OK;
}

mc_err mc_metric_cross_correlation(const mc_plane *a, const mc_plane *b, double *r)
{
    size_t n;
    sums s = {0};

    if (!same_geometry(a, b) || r == NULL)
        return MC_EINVAL;
    n = (size_t)a->width * a->height;
    for (size_t i = 0; i < n; i++)
        sums_add(&s, sample_at(a, i), sample_at(b, i));
    *r = sums_r(&s);
    return MC_OK;
}

/* Two-pass (centred) Pearson for arbitrary doubles. */
mc_err mc_metric_pearson(const double *x, const double *y, size_t n, double *r)
{
    double mx = 0, my = 0, cxy = 0, cxx = 0, cyy = 0;

    if (x == NULL || y == NULL || r == NULL || n < 2)
        return MC_EINVAL;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double u = x[i] - mx, v = y[i] - my;
        cxy += u * v;
        cxx += u * u;
        cyy += v * v;
    }
    *r = (cxx > 0 && cyy > 0) ? cxy / sqrt(cxx * cyy) : NAN;
    return MC_OK;
}

/* ------------------------------------------------------------------ */
/* Differential metrics.                                               */

/* NPCR = 100/T sum D(i), D(i) = [a_i != b_i]; UACI = 100/T sum |a_i -
 * b_i| / F (Wu, Noonan, Agaian 2011, eqs. 1-2). */
mc_err mc_metric_npcr_uaci(const mc_plane *a, const mc_plane *b, double *npcr, double *uaci)
{
    uint64_t diff = 0, abs_sum = 0;
    size_t n;
    double t, f;

    if (!same_geometry(a, b) || npcr == NULL || uaci == NULL)
        return MC_EINVAL;
    n = (size_t)a->width * a->height;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = sample_at(a, i), v = sample_at(b, i);
        diff += u != v;
        abs_sum += u > v ? u - v : v - u;
    }
    t = (double)n;
    f = (double)((1u << a->bits) - 1);
    *npcr = 100.0 * (double)diff / t;
    *uaci = 100.0 * ((double)abs_sum / f) / t;
    return MC_OK;
}

/* Wu, Noonan, Agaian, "NPCR and UACI randomness tests for image
 * encryption", Cyber Journals: J. Selected Areas in Telecommunications
 * (2011). For two independent uniform images of T samples of F+1 levels:
 *   NPCR ~ N(mu_N, s_N^2), mu_N = F/(F+1), s_N^2 = F/((F+1)^2 T);
 *   NPCR*_alpha = (F - Phi^-1(1-alpha) sqrt(F/T)) / (F+1)   (one-sided);
 *   UACI ~ N(mu_U, s_U^2), mu_U = (F+2)/(3F+3),
 *   s_U^2 = (F+2)(F^2+2F+3) / (18 (F+1)^2 F T);
 *   UACI*_alpha = mu_U -+ Phi^-1(1-alpha/2) s_U              (two-sided).
 * (The paper writes Phi^-1(alpha) for the upper-tail quantile.) 512x512,
 * 8 bit, alpha 0.05: 99.5893 %, [33.3730 %, 33.5541 %]. */
/* NPCR counts the samples two independent uniform images share: E ~
 * Binomial(T, 1/K), mean mu = T/K. Wu, Noonan and Agaian take it as
 * normal, which holds when mu is large (every 8-bit image of 72 x 72 or
 * more). With fewer than NPCR_EXACT_BELOW equal samples expected (a 16-bit
 * image under about 1145 x 1145), E is Poisson-like and their bound's
 * level swings from 2 to 14 % at alpha 0.05 (mu = 0.15: 14 %, mu = 3:
 * 8 %); there the exact tail is used instead: the smallest k with
 * P(E > k) <= alpha, NPCR* = 100 (T - k) / T, a test of level at most
 * alpha. */
#define NPCR_EXACT_BELOW 20.0

static mc_err npcr_critical_exact(uint64_t n, double k_bins, double alpha, double *npcr_star)
{
    double p = 1.0 / k_bins, t = (double)n;
    double pmf = exp(t * log1p(-p)), cdf = pmf; /* P(E = 0) */
    uint64_t k = 0;

    /* P(E = i + 1) = P(E = i) (T - i) / (i + 1) p / (1 - p); mu < 20, so
     * the loop ends within a few dozen steps. */
    while (1.0 - cdf > alpha && k < n) {
        pmf *= (t - (double)k) / (double)(k + 1) * p / (1.0 - p);
        k++;
        cdf += pmf;
    }
    *npcr_star = 100.0 * (t - (double)k) / t;
    return MC_OK;
}

mc_err mc_npcr_critical(uint64_t n_samples, uint8_t bits, double alpha, double *npcr_star)
{
    double f, t;

    if (n_samples == 0 || (bits != 8 && bits != 16) || !(alpha > 0.0 && alpha < 1.0) ||
        npcr_star == NULL)
        return MC_EINVAL;
    f = (double)((1u << bits) - 1);
    t = (double)n_samples;
    if (t / (f + 1.0) < NPCR_EXACT_BELOW)
        return npcr_critical_exact(n_samples, f + 1.0, alpha, npcr_star);
    *npcr_star = 100.0 * (f - upper_z(alpha) * sqrt(f / t)) / (f + 1.0);
    return MC_OK;
}

mc_err mc_uaci_critical(uint64_t n_samples, uint8_t bits, double alpha, double *uaci_lo,
                        double *uaci_hi)
{
    double f, t, mu, var, z;

    if (n_samples == 0 || (bits != 8 && bits != 16) || !(alpha > 0.0 && alpha < 1.0) ||
        uaci_lo == NULL || uaci_hi == NULL)
        return MC_EINVAL;
    f = (double)((1u << bits) - 1);
    t = (double)n_samples;
    mu = (f + 2.0) / (3.0 * f + 3.0);
    var = (f + 2.0) * (f * f + 2.0 * f + 3.0) / (18.0 * (f + 1.0) * (f + 1.0) * f * t);
    z = upper_z(alpha / 2.0);
    *uaci_lo = 100.0 * (mu - z * sqrt(var));
    *uaci_hi = 100.0 * (mu + z * sqrt(var));
    return MC_OK;
}

mc_err mc_metric_bit_difference(const uint8_t *a, const uint8_t *b, size_t len, double *percent)
{
    uint64_t d = 0;

    if (a == NULL || b == NULL || len == 0 || percent == NULL)
        return MC_EINVAL;
    for (size_t i = 0; i < len; i++)
        d += (uint64_t)__builtin_popcount((unsigned)(a[i] ^ b[i]));
    *percent = 100.0 * (double)d / (8.0 * (double)len);
    return MC_OK;
}

/* ------------------------------------------------------------------ */
/* Quality of the decrypted image.                                     */

/* MSE = 1/T sum (a_i - b_i)^2; PSNR = 10 log10(F^2 / MSE) dB. */
mc_err mc_metric_mse_psnr(const mc_plane *a, const mc_plane *b, double *mse, double *psnr)
{
    uint64_t s = 0;
    size_t n;
    double m, f;

    if (!same_geometry(a, b) || mse == NULL || psnr == NULL)
        return MC_EINVAL;
    n = (size_t)a->width * a->height;
    for (size_t i = 0; i < n; i++) {
        int64_t d = (int64_t)sample_at(a, i) - (int64_t)sample_at(b, i);
        s += (uint64_t)(d * d);
    }
    m = (double)s / (double)n;
    f = (double)((1u << a->bits) - 1);
    *mse = m;
    *psnr = m == 0.0 ? INFINITY : 10.0 * log10(f * f / m);
    return MC_OK;
}

/* SSIM (Wang, Bovik, Sheikh, Simoncelli, IEEE TIP 13(4), 2004, eq. 13):
 * SSIM = (2 mu_a mu_b + C1)(2 s_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(s_a^2 +
 * s_b^2 + C2)), C1 = (K1 L)^2, C2 = (K2 L)^2, K1 = 0.01, K2 = 0.03, L =
 * 2^D - 1, on 8x8 windows (uniform weights, unbiased covariance as in the
 * paper's eq. 14 with N-1) sliding by 4 pixels; the mean over windows.
 * An image smaller than 8 in a dimension is one window that wide/high. */
mc_err mc_metric_ssim(const mc_plane *a, const mc_plane *b, double *ssim)
{
    const uint32_t win = 8, step = 4;
    uint32_t ww, wh;
    double L, c1, c2, total = 0.0;
    uint64_t count = 0;

    if (!same_geometry(a, b) || ssim == NULL)
        return MC_EINVAL;
    L = (double)((1u << a->bits) - 1);
    c1 = (0.01 * L) * (0.01 * L);
    c2 = (0.03 * L) * (0.03 * L);
    ww = a->width < win ? a->width : win;
    wh = a->height < win ? a->height : win;
    for (uint32_t y0 = 0; y0 + wh <= a->height; y0 += step) {
        for (uint32_t x0 = 0; x0 + ww <= a->width; x0 += step) {
            double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, n = (double)ww * wh;
            double ma, mb, va, vb, cab;
            for (uint32_t y = y0; y < y0 + wh; y++)
                for (uint32_t x = x0; x < x0 + ww; x++) {
                    size_t i = (size_t)y * a->width + x;
                    double u = sample_at(a, i), v = sample_at(b, i);
                    sa += u;
                    sb += v;
                    saa += u * u;
                    sbb += v * v;
                    sab += u * v;
                }
            ma = sa / n;
            mb = sb / n;
            va = n > 1 ? (saa - sa * ma) / (n - 1) : 0;
            vb = n > 1 ? (sbb - sb * mb) / (n - 1) : 0;
            cab = n > 1 ? (sab - sa * mb) / (n - 1) : 0;
            total += ((2 * ma * mb + c1) * (2 * cab + c2)) /
                     ((ma * ma + mb * mb + c1) * (va + vb + c2));
            count++;
            if (a->width < win)
                break;
        }
        if (a->height < win)
            break;
    }
    *ssim = total / (double)count;
    return MC_OK;
}

/* ------------------------------------------------------------------ */
/* Distributions.                                                      */

/* Acklam's rational approximation of the normal quantile (relative
 * error 1.15e-9), refined by one Halley step on erfc (then exact to
 * about 1e-15; p from 6e-311 up). */
double mc_normal_quantile(double p)
{
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    const double plow = 0.02425;
    double q, r, x, e, u;

    if (!(p > 0.0 && p < 1.0))
        return p == 0.0 ? -INFINITY : p == 1.0 ? INFINITY : NAN;
    if (p < plow) {
        q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - plow) {
        q = p - 0.5;
        r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        q = sqrt(-2 * log1p(-p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    /* Halley: e = Phi(x) - p, u = e sqrt(2 pi) exp(x^2/2). Above the
     * median Phi(x) - p cancels; (1 - p) - Q(x) does not: 1 - p is exact
     * there (Sterbenz), and Q(x) = erfc(x/sqrt 2)/2 keeps its digits. */
    if (p > 0.5)
        e = (1.0 - p) - 0.5 * erfc(x / sqrt(2.0));
    else
        e = 0.5 * erfc(-x / sqrt(2.0)) - p;
    u = e * sqrt(2 * M_PI) * exp(x * x / 2);
    /* Below p = 6e-311 exp(x^2/2) overflows and the step would give NaN
     * (fuzz_metrics): Acklam's value stands there (within 2e-9). */
    if (isfinite(u))
        x = x - u / (1 + x * u / 2);
    return x;
}

/* Regularized incomplete gamma P(a, x) by its series and Q(a, x) by
 * Legendre's continued fraction (modified Lentz), as in Numerical Recipes
 * (Press et al., 3rd ed., §6.2): the series where x < a + 1, the
 * fraction elsewhere. The prefactor exp(-x + a ln x - ln Gamma(a)) is
 * computed in logs, so df = 65535 (a = 32767.5) does not overflow. */
static double gamma_prefactor(double a, double x)
{
    int sign; /* lgamma() writes the global signgam: two analyses at once
               * raced on it (ThreadSanitizer); a > 0 here, so it is +1 */

    return exp(-x + a * log(x) - lgamma_r(a, &sign));
}

static double gamma_p_series(double a, double x)
{
    double ap = a, sum = 1.0 / a, del = sum;
    for (int i = 0; i < 1000000; i++) {
        ap += 1.0;
        del *= x / ap;
        sum += del;
        if (fabs(del) < fabs(sum) * 1e-17)
            break;
    }
    return sum * gamma_prefactor(a, x);
}

static double gamma_q_cf(double a, double x)
{
    const double tiny = DBL_MIN / DBL_EPSILON;
    double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
    for (int i = 1; i < 1000000; i++) {
        double an = -i * (i - a), del;
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < tiny)
            d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-17)
            break;
    }
    return gamma_prefactor(a, x) * h;
}

/* ln Gamma(1 + a) for 0 <= a < 1, to a few units in the last place.
 * lgamma(1 + a) would see a only as far as 1 + a holds it: a relative
 * error of 1e-16 / a near 0 (7e-14 at a = 1e-3), and near 1, where
 * lgamma(2) = 0, 1e-16 / (1 - a). So under 1/2 by the series of
 * Abramowitz & Stegun 6.1.33,
 *   ln Gamma(1 + a) = -ln(1 + a) + (1 - gamma) a
 *                     + sum_{k>=2} (-a)^k (zeta(k) - 1) / k,
 * whose terms fall as (a/2)^k (past k = 33 under 1e-20 of the sum;
 * summed by Horner's rule, the smallest first), and from 1/2 as
 * ln a + ln Gamma(a), Gamma(a) at a itself (a cancellation of 4 at
 * most). Within 5e-16 of mpmath over 3000 points from 1e-12 to 1. */
static const double ZETA_MINUS_1[] = {
    0.6449340668482264,    0.2020569031595943,     0.08232323371113819,
    0.03692775514336993,   0.01734306198444914,    0.008349277381922827,
    0.00407735619794434,   0.0020083928260822143,  0.0009945751278180853,
    0.0004941886041194645, 0.0002460865533080483,  0.00012271334757848915,
    6.124813505870483e-05, 3.058823630702049e-05,  1.528225940865187e-05,
    7.637197637899763e-06, 3.81729326499984e-06,   1.908212716553939e-06,
    9.539620338727962e-07, 4.769329867878064e-07,  2.38450502727733e-07,
    1.1921992596531106e-07, 5.960818905125948e-08, 2.980350351465228e-08,
    1.4901554828365043e-08, 7.45071178983543e-09,  3.725334024788457e-09,
    1.862659723513049e-09, 9.313274324196682e-10,  4.656629065033784e-10,
    2.3283118336765053e-10, 1.164155017270052e-10}; /* zeta(k) - 1, k = 2..33 (mpmath) */

double mc__lgamma1p(double a)
{
    const int K = (int)(sizeof ZETA_MINUS_1 / sizeof ZETA_MINUS_1[0]) + 1;
    double sum = 0.0; /* sum_{k>=2} (-a)^(k-2) (zeta(k) - 1) / k */
    int sign;

    if (a >= 0.5)
        return log(a) + lgamma_r(a, &sign);
    for (int k = K; k >= 2; k--)
        sum = sum * -a + ZETA_MINUS_1[k - 2] / k;
    return -log1p(a) + 0.42278433509846713 * a + a * a * sum; /* 1 - Euler's gamma */
}

/* Q(a, x) for a < 1 and x < a + 1, where 1 - P(a, x) cancels: with P's
 * series P = x^a / Gamma(a + 1) (1 + a sum_{n>=1} (-x)^n / (n! (a + n))),
 * Q = -expm1(a ln x - ln Gamma(1 + a)) - x^a / Gamma(a + 1) a sum... :
 * both terms of the size of Q, nothing taken from 1 (DiDonato & Morris
 * 1986, §3's small-a form). For df = 1.02e-8 the tail past x = 1.86
 * is 1.26e-9, and 1 - P had it to 3e-6 only (fuzz_metrics' check of the
 * critical value, which stopped at df 1). */
static double gamma_q_small_a(double a, double x)
{
    double t = a * log(x) - mc__lgamma1p(a), term = 1.0, sum = 0.0;

    for (int n = 1; n < 1000; n++) {
        term *= -x / n;
        sum += term / (a + n);
        if (fabs(term) < 1e-17 * fabs(sum) * (a + n))
            break;
    }
    return -expm1(t) - exp(t) * a * sum;
}

/* Past this many degrees of freedom x + 1 - df/2 loses its last digits
 * to rounding (at 1e300 it is 0, and the fraction gives NaN) and the
 * fraction needs about sqrt(df) steps: Wilson–Hilferty's normal
 * approximation of (X/df)^(1/3) is used instead, within 1e-9 there (the
 * analysis asks for df = 255 and 65535 only; found by fuzz_metrics).
 * (X/df)^(1/3) - 1 is taken as expm1(log1p((x - df)/df) / 3): as
 * cbrt(x/df) - 1 it cancelled, an error growing as 1e-16 sqrt(df). */
#define CHI2_WH_ABOVE 2e7

double mc_chi2_sf(double x, double df)
{
    double a = df / 2.0, z = x / 2.0, q;

    if (!(df > 0.0) || isinf(df) || isnan(x))
        return NAN;
    if (z <= 0.0)
        return 1.0;
    /* All but a·E1(z) < 1e-305 of the mass lies at 0 when a is under
     * DBL_MIN, where 1/a overflows and lgamma(a) is infinite. */
    if (isinf(x) || a < DBL_MIN)
        return 0.0;
    if (df > CHI2_WH_ABOVE) {
        double s = 2.0 / (9.0 * df);
        return 0.5 * erfc((expm1(log1p((x - df) / df) / 3.0) + s) / sqrt(s) / sqrt(2.0));
    }
    if (z >= a + 1.0)
        q = gamma_q_cf(a, z);
    else if (a < 1.0)
        q = gamma_q_small_a(a, z);
    else
        q = 1.0 - gamma_p_series(a, z);
    /* A probability, whatever rounding does at its ends. */
    return q < 0.0 ? 0.0 : q > 1.0 ? 1.0 : q;
}

/* Solves Q(df/2, x/2) = alpha for x: Wilson–Hilferty's approximation
 * (x ~ df (1 - 2/(9 df) + z sqrt(2/(9 df)))^3) brackets the root, then
 * bisection to the last bits (Q is monotone; ~60 steps, each cheap).
 * Under one degree of freedom the root can lie hundreds of orders of
 * magnitude below the bracket's top (df 0.01, alpha 0.9: 1e-200): the
 * bisection halves the ratio of its ends, not their difference, while
 * they are more than a factor of 4 apart (a dozen steps from the least
 * double to 10). Halving the difference 200 times had stopped near
 * 3e-60 there, where Q is 0.496 (found in mutation testing's fifteenth
 * round). The lower end goes down to the least doubles, where x/2 is 0
 * and Q 1: a root below them (df 0.001, alpha 0.9) comes out as one. */
double mc_chi2_critical(double df, double alpha)
{
    double z, wh, lo, hi;

    if (!(df > 0.0) || isinf(df) || !(alpha > 0.0 && alpha < 1.0))
        return NAN;
    /* df/2 under DBL_MIN: mc_chi2_sf puts all the mass at 0 (its tail is
     * 0 past every x > 0), so every quantile is 0. The bisection, its
     * lower end 0 from the start (df/2 rounds to it), halved [0, 10]
     * 200 times to 3e-60 (fuzz_metrics, once its check went under df 1). */
    if (df / 2.0 < DBL_MIN)
        return 0.0;
    z = upper_z(alpha);
    wh = df * pow(1.0 - 2.0 / (9.0 * df) + z * sqrt(2.0 / (9.0 * df)), 3);
    if (!(wh > 0.0))
        wh = df;
    lo = wh / 2;
    hi = wh * 2 + 10;
    while (lo > 0.0 && mc_chi2_sf(lo, df) < alpha)
        lo /= 2;
    while (mc_chi2_sf(hi, df) > alpha)
        hi *= 2;
    for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
        double mid = lo > 0.0 && hi > 4.0 * lo ? sqrt(lo) * sqrt(hi) : 0.5 * (lo + hi);
        if (mc_chi2_sf(mid, df) > alpha)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}
