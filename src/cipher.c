/*
 * The pipeline (docs/FORMAT.md): keyed hash T (SIV), key processing SM,
 * then permutation, Hénon bit scrambling, logistic diffusion and the
 * XChaCha20 layer. Decryption runs the stages backwards and accepts the
 * result only if T recomputed over it matches (SIV). Formats v3 (written)
 * and v2 (still read) run stages 3–6 in one pass over blocks
 * (stage_v2.c); format v1 (still read) runs each stage over the whole
 * image (stage_perm.c, stage_henon.c, stage_xor.c). All share SM, the
 * subkeys and the container; v3's keyed hash is over the digests of 64 KiB
 * chunks of the samples, computed on all cores (keyed_hash below).
 */
#include "internal.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t KDF_SALT[] = "medcrypt-v1";

mc_err mc__subkeys_derive(mc__subkeys *sk, const mc_key *key)
{
    const size_t salt_len = sizeof KDF_SALT - 1;
    mc_err err;

    /* HKDF-SHA-512 (RFC 5869): one extract, one expand per label, so each
     * subkey is independent of the others. */
    if ((err = mc__hkdf_sha512(sk->mac, sizeof sk->mac, key->bytes, MC_KEY_BYTES, KDF_SALT,
                               salt_len, "medcrypt-v1 mac")) != MC_OK ||
        (err = mc__hkdf_sha512(sk->chaos, sizeof sk->chaos, key->bytes, MC_KEY_BYTES, KDF_SALT,
                               salt_len, "medcrypt-v1 chaos")) != MC_OK ||
        (err = mc__hkdf_sha512(sk->stream, sizeof sk->stream, key->bytes, MC_KEY_BYTES,
                               KDF_SALT, salt_len, "medcrypt-v1 stream")) != MC_OK ||
        (err = mc__hkdf_sha512(sk->key_id, sizeof sk->key_id, key->bytes, MC_KEY_BYTES,
                               KDF_SALT, salt_len, "medcrypt-v1 key-id")) != MC_OK)
        mc__subkeys_wipe(sk);
    mc__stack_wipe();
    return err;
}

void mc__subkeys_wipe(mc__subkeys *sk)
{
    sodium_memzero(sk, sizeof *sk);
}

/* Key processing as in the paper: PPG = 256 bytes of Philox4x32-10 keyed
 * by K_chaos[0..8] with counters (i, T[0..4], T[4..8], T[8..12]);
 * SM = SHA-512(PPG) XOR SHA-512(K_chaos ‖ T) (the "Joint" of the two). */
mc_err mc__seed_material(uint8_t sm[64], const uint8_t k_chaos[32],
                         const uint8_t tag[MC_TAG_BYTES])
{
    uint8_t ppg[256];           /* secret */
    uint8_t h1[64], h2[64];     /* secret */
    uint32_t pkey[2];           /* secret */
    mc_err err;

    pkey[0] = mc__le32(k_chaos);
    pkey[1] = mc__le32(k_chaos + 4);
    mc__philox_stream(ppg, sizeof ppg / 16, pkey, mc__le32(tag), mc__le32(tag + 4), mc__le32(tag + 8));
    if ((err = mc__sha512(h1, ppg, sizeof ppg)) != MC_OK ||
        (err = mc__sha512_2(h2, k_chaos, 32, tag, MC_TAG_BYTES)) != MC_OK)
        goto out;
    for (int i = 0; i < 64; i++)
        sm[i] = h1[i] ^ h2[i];
out:
    sodium_memzero(ppg, sizeof ppg);
    sodium_memzero(h1, sizeof h1);
    sodium_memzero(h2, sizeof h2);
    sodium_memzero(pkey, sizeof pkey);
    return err;
}

/* Format v3's tree (docs/FORMAT.md §4.1): the samples in chunks of
 * MC_TREE_CHUNK bytes (internal.h), each hashed on its own, so on all
 * cores, or already while the image was decoded (chunkhash.c). */
/* Threads only from 8 chunks each (512 KiB): below, starting one costs
 * more than it saves. */
#define MC_TREE_GRAIN 8

struct tree {
    const uint8_t *samples;
    size_t len;
    uint8_t *digests; /* 64 bytes per chunk */
    atomic_bool failed;
};

static void tree_range(void *arg, size_t begin, size_t end, unsigned worker)
{
    struct tree *t = arg;
    (void)worker;

    if (mc__sha512_chunks(t->digests, t->samples, t->len, MC_TREE_CHUNK, begin, end) != MC_OK)
        atomic_store(&t->failed, true);
}

/* T = first 32 bytes of HMAC-SHA-512(K_mac, header ‖ M ‖ side), where M is
 * the samples (versions 1 and 2) or, from version 3, the SHA-512 digests
 * of their chunks in order. */
static mc_err keyed_hash(uint8_t tag[MC_TAG_BYTES], const mc__subkeys *sk, const mc__header *hdr,
                         const mc_image *img, unsigned threads)
{
    uint8_t head[MC_MAC_HEADER_BYTES]; /* public */
    uint8_t full[64];                  /* secret until truncated into the tag */
    const uint8_t *m = img->samples;
    size_t m_len = img->samples_len;
    struct tree t = {.samples = img->samples, .len = img->samples_len};
    size_t d_len = 0;
    mc__hmac *h = NULL;
    mc_err err;

    if (hdr->version >= 3 && img->digests != NULL &&
        img->digests_len == mc__tree_chunks(img->samples_len) * 64) {
        m = img->digests; /* hashed while it was decoded */
        m_len = img->digests_len;
    } else if (hdr->version >= 3) {
        size_t chunks = mc__tree_chunks(img->samples_len);
        d_len = chunks * 64;
        if ((t.digests = malloc(d_len > 0 ? d_len : 1)) == NULL)
            return MC_ENOMEM;
        atomic_init(&t.failed, false);
        mc__parallel(threads, chunks, MC_TREE_GRAIN, tree_range, &t);
        if (atomic_load(&t.failed)) {
            err = MC_ECRYPTO;
            goto out;
        }
        m = t.digests;
        m_len = d_len;
    }
    mc__header_mac_bytes(head, hdr);
    if ((err = mc__hmac_init(&h, sk->mac, sizeof sk->mac)) != MC_OK)
        goto out;
    if ((err = mc__hmac_update(h, head, sizeof head)) != MC_OK ||
        (err = mc__hmac_update(h, m, m_len)) != MC_OK ||
        (img->side_len > 0 && (err = mc__hmac_update(h, img->side, img->side_len)) != MC_OK)) {
        mc__hmac_free(h);
        goto out;
    }
    if ((err = mc__hmac_final(h, full)) != MC_OK)
        goto out;
    memcpy(tag, full, MC_TAG_BYTES);
    sodium_memzero(full, sizeof full);
out:
    if (t.digests != NULL) /* derived from patient data */
        sodium_memzero(t.digests, d_len);
    free(t.digests);
    return err;
}

static uint64_t side_counter(size_t samples_len)
{
    return ((uint64_t)samples_len + 63) / 64;
}

/* Format v2, stages 3–6, in place. */
static mc_err v2_stages(mc_image *img, const uint8_t sm[64], const mc__subkeys *sk,
                        const uint8_t tag[MC_TAG_BYTES], int stages, bool inverse,
                        unsigned threads)
{
    unsigned bps = img->bits / 8;

    return mc__v2_run(img->samples, img->samples_len / bps, bps, sm, sk->stream, tag, stages,
                      inverse, threads);
}

mc_err mc__encrypt_inplace_v(const mc_key *key, mc_image *img,
                             const uint8_t nonce[MC_NONCE_BYTES], int version, int stages,
                             mc__header *hdr, unsigned threads)
{
    mc__subkeys sk;   /* secret */
    uint8_t sm[64];   /* secret */
    unsigned bps = img->bits / 8;
    mc_err err;

    /* The side data travels in medcrypt's chunk, which PNG bounds at
     * 2^31 - 1 bytes (§5.3): refused here, before any sample is
     * touched, rather than by the writer after the stages ran. */
    if (img->side_len > MC__PNG_MAX_CHUNK - MC_CHUNK_FIXED_BYTES)
        return MC_ETOOBIG;
    if (version < 1 || version > MC_FORMAT_VERSION)
        return MC_EVERSION;
    memset(hdr, 0, sizeof *hdr);
    memset(sm, 0, sizeof sm);
    if ((err = mc__subkeys_derive(&sk, key)) != MC_OK)
        return err;
    hdr->version = (uint8_t)version;
    hdr->format = img->format;
    hdr->channels = img->channels;
    hdr->bits = img->bits;
    hdr->width = img->width;
    hdr->height = img->height;
    hdr->frames = img->frames;
    memcpy(hdr->key_id, sk.key_id, MC_KEY_ID_BYTES);
    memcpy(hdr->nonce, nonce, MC_NONCE_BYTES);
    hdr->side_len = (uint32_t)img->side_len;

    err = keyed_hash(hdr->tag, &sk, hdr, img, threads);
    mc__image_drop_digests(img); /* the stages change the samples */
    if (err != MC_OK || (err = mc__seed_material(sm, sk.chaos, hdr->tag)) != MC_OK)
        goto out;
    if (version >= 2) { /* v3 has v2's stages */
        if (stages >= MC_STAGES_PERM &&
            (err = v2_stages(img, sm, &sk, hdr->tag, stages, false, threads)) != MC_OK)
            goto out;
    } else {
        if (stages >= MC_STAGES_PERM &&
            (err = mc__perm_forward(img->samples, img->samples_len / bps, bps, sm, threads)) !=
                MC_OK)
            goto out;
        if (stages >= MC_STAGES_HENON)
            mc__henon_forward(img->samples, img->samples_len, bps, sm, threads);
        if (stages >= MC_STAGES_LOGISTIC)
            mc__logistic_xor(img->samples, img->samples_len, sm, threads);
        if (stages >= MC_STAGES_ALL)
            mc__xchacha_xor(img->samples, img->samples_len, 0, sk.stream, hdr->tag, threads);
    }
    if (stages >= MC_STAGES_ALL)
        mc__xchacha_xor(img->side, img->side_len, side_counter(img->samples_len), sk.stream,
                        hdr->tag, 1);
out:
    sodium_memzero(sm, sizeof sm);
    mc__subkeys_wipe(&sk);
    mc__stack_wipe();
    return err;
}

mc_err mc__encrypt_inplace(const mc_key *key, mc_image *img, const uint8_t nonce[MC_NONCE_BYTES],
                           int stages, mc__header *hdr, unsigned threads)
{
    return mc__encrypt_inplace_v(key, img, nonce, MC_FORMAT_VERSION, stages, hdr, threads);
}

/* Stages 4 to 1, backwards, on the samples (and the side data's stream). */
static mc_err undo_stages(const mc__subkeys *sk, const uint8_t sm[64], mc_image *img,
                          const mc__header *hdr, unsigned threads)
{
    unsigned bps = img->bits / 8;

    mc__xchacha_xor(img->side, img->side_len, side_counter(img->samples_len), sk->stream,
                    hdr->tag, 1);
    if (hdr->version >= 2)
        return v2_stages(img, sm, sk, hdr->tag, MC_STAGES_ALL, true, threads);
    mc__xchacha_xor(img->samples, img->samples_len, 0, sk->stream, hdr->tag, threads);
    mc__logistic_xor(img->samples, img->samples_len, sm, threads);
    mc__henon_inverse(img->samples, img->samples_len, bps, sm, threads);
    return mc__perm_inverse(img->samples, img->samples_len / bps, bps, sm, threads);
}

void mc__wrong_key_detail(const mc_ctx *ctx, const mc__header *hdr, const mc_key *key)
{
    /* Both ids are public (the image's is in its header; a key's is in
     * its file's comment): they tell which key was used. */
    char theirs[MC_KEY_ID_HEX_BYTES], ours[MC_KEY_ID_HEX_BYTES];

    sodium_bin2hex(theirs, sizeof theirs, hdr->key_id, MC_KEY_ID_BYTES);
    mc_key_id_hex(key, ours);
    mc__ctx_detail(ctx, "the image was encrypted under key id %s, this key's id is %s", theirs,
                   ours);
}

mc_err mc__decrypt_inplace(const mc_key *key, mc_image *img, const mc__header *hdr,
                           unsigned threads)
{
    mc__subkeys sk;             /* secret */
    uint8_t sm[64];             /* secret */
    uint8_t tag[MC_TAG_BYTES];  /* recomputed; compared in constant time */
    mc__header ours;
    bool other_id, tag_ok;
    mc_err err;

    memset(sm, 0, sizeof sm);
    mc__image_drop_digests(img); /* the cipher samples' digests are no use */
    if ((err = mc__subkeys_derive(&sk, key)) != MC_OK)
        return err;
    /* The key id tells "wrong key" apart from "modified image". But an
     * image of this key whose key id alone was changed is a modified
     * image, not another key's (found in review: one flipped byte of the
     * id sent its receiver looking for a key that does not exist). So
     * under another id the image is decrypted as if it carried this
     * key's: a tag that then holds says the id was changed; one that
     * fails, as under any other key, says wrong key. That costs a
     * decryption of a wrong key's image, whose result nobody sees. */
    other_id = sodium_memcmp(sk.key_id, hdr->key_id, MC_KEY_ID_BYTES) != 0;
    if (other_id) {
        ours = *hdr;
        memcpy(ours.key_id, sk.key_id, MC_KEY_ID_BYTES);
        hdr = &ours;
    }
    if ((err = mc__seed_material(sm, sk.chaos, hdr->tag)) != MC_OK)
        goto out;
    if ((err = undo_stages(&sk, sm, img, hdr, threads)) != MC_OK)
        goto fail;
    /* SIV: decrypt, then verify; no unauthentic pixels leave. */
    if ((err = keyed_hash(tag, &sk, hdr, img, threads)) != MC_OK)
        goto fail;
    tag_ok = sodium_memcmp(tag, hdr->tag, MC_TAG_BYTES) == 0;
    if (!tag_ok || other_id) {
        err = other_id && !tag_ok ? MC_EWRONGKEY : MC_ETAMPERED;
        goto fail;
    }
    if (!mc__side_valid(img->side, img->side_len)) { /* authentic yet malformed */
        err = MC_ETAMPERED;
        goto fail;
    }
    goto out;
fail:
    sodium_memzero(img->samples, img->samples_len);
    if (img->side != NULL)
        sodium_memzero(img->side, img->side_len);
out:
    sodium_memzero(sm, sizeof sm);
    mc__subkeys_wipe(&sk);
    mc__stack_wipe();
    return err;
}

mc_err mc__decrypt_unverified(const mc_key *key, mc_image *img, const mc__header *hdr,
                              unsigned threads)
{
    mc__subkeys sk; /* secret */
    uint8_t sm[64]; /* secret */
    mc_err err;

    memset(sm, 0, sizeof sm);
    if ((err = mc__subkeys_derive(&sk, key)) != MC_OK)
        return err;
    if ((err = mc__seed_material(sm, sk.chaos, hdr->tag)) == MC_OK)
        err = undo_stages(&sk, sm, img, hdr, threads);
    sodium_memzero(sm, sizeof sm);
    mc__subkeys_wipe(&sk);
    mc__stack_wipe();
    return err;
}

/* ------------------------------------------------------------------ */
/* Public calls.                                                       */

mc_err mc_encrypt_image_inplace(mc_ctx *ctx, const mc_key *key, mc_image *img, uint8_t **out,
                                size_t *out_len)
{
    uint8_t nonce[MC_NONCE_BYTES]; /* public: in the header, not wiped */
    mc__header hdr;
    mc_err err;

    if (ctx == NULL || key == NULL || img == NULL || out == NULL || out_len == NULL)
        return MC_EINVAL;
    if (img->spent)
        return MC_ESTATE;
    img->spent = true; /* from here on, on every path */
    randombytes_buf(nonce, sizeof nonce);
    if ((err = mc__encrypt_inplace(key, img, nonce, MC_STAGES_ALL, &hdr, ctx->threads)) != MC_OK)
        return err;
    return mc__container_write(ctx, img, &hdr, out, out_len);
}

mc_err mc_encrypt_image_inplace_to(mc_ctx *ctx, const mc_key *key, mc_image *img,
                                   mc_write_fn write, void *user)
{
    uint8_t nonce[MC_NONCE_BYTES]; /* public: in the header, not wiped */
    mc__header hdr;
    mc_err err;

    if (ctx == NULL || key == NULL || img == NULL || write == NULL)
        return MC_EINVAL;
    if (img->spent)
        return MC_ESTATE;
    img->spent = true; /* from here on, on every path */
    randombytes_buf(nonce, sizeof nonce);
    if ((err = mc__encrypt_inplace(key, img, nonce, MC_STAGES_ALL, &hdr, ctx->threads)) != MC_OK)
        return err;
    return mc__container_write_to(ctx, img, &hdr, write, user);
}

mc_err mc_encrypt_image(mc_ctx *ctx, const mc_key *key, const mc_image *plain, uint8_t **out,
                        size_t *out_len)
{
    mc_image *img = NULL;
    mc_err err;

    if (ctx == NULL || key == NULL || plain == NULL || out == NULL || out_len == NULL)
        return MC_EINVAL;
    if (plain->spent)
        return MC_ESTATE;
    if ((err = mc__image_copy(plain, &img)) != MC_OK)
        return err;
    err = mc_encrypt_image_inplace(ctx, key, img, out, out_len);
    mc_image_free(img);
    return err;
}

mc_err mc_encrypt_file(mc_ctx *ctx, const mc_key *key, const uint8_t *in, size_t in_len,
                       const char *name, uint8_t **out, size_t *out_len)
{
    mc_image *img = NULL;
    mc_ctx dc; /* ctx's options, and the decode may hash ahead (chunkhash.c) */
    mc_err err;

    mc__ctx_detail(ctx, "%s", ""); /* this call's only, its MC_EINVAL's too */
    if (ctx == NULL || key == NULL || (in == NULL && in_len > 0) || out == NULL ||
        out_len == NULL)
        return MC_EINVAL;
    /* Its medcrypt chunk (nonce, tag, side data) would not travel inside
     * a second layer (png_meta.c keeps no chunk of ours), so the first
     * layer could never be opened again: a review found the data lost. */
    if (mc_is_cipher_image(in, in_len)) {
        mc__ctx_detail(ctx, "already a medcrypt cipher image: not encrypted again (decrypt it "
                            "first)");
        return MC_EUNSUPPORTED;
    }
    dc = *ctx;
    dc.chunk_digests = true;
    if ((err = mc_image_decode(&dc, in, in_len, name, &img)) != MC_OK)
        return err;
    err = mc_encrypt_image_inplace(ctx, key, img, out, out_len);
    mc_image_free(img);
    return err;
}

mc_err mc_decrypt_image(mc_ctx *ctx, const mc_key *key, const uint8_t *in, size_t in_len,
                        mc_image **out)
{
    mc_image *img = NULL;
    mc__header hdr;
    mc_err err;

    mc__ctx_detail(ctx, "%s", ""); /* this call's only, its MC_EINVAL's too */
    if (ctx == NULL || key == NULL || (in == NULL && in_len > 0) || out == NULL)
        return MC_EINVAL;
    if ((err = mc__container_read(ctx, in, in_len, &img, &hdr)) != MC_OK)
        return err;
    if ((err = mc__decrypt_inplace(key, img, &hdr, ctx->threads)) != MC_OK ||
        (err = mc__image_name_from_side(img)) != MC_OK) {
        if (err == MC_EWRONGKEY)
            mc__wrong_key_detail(ctx, &hdr, key);
        else if (err == MC_ETAMPERED) /* the tag: chunks added, maybe */
            mc__tampered_detail(ctx, in, in_len);
        mc_image_free(img);
        return err;
    }
    *out = img;
    return MC_OK;
}

mc_err mc_decrypt_file(mc_ctx *ctx, const mc_key *key, const uint8_t *in, size_t in_len,
                       uint8_t **out, size_t *out_len, mc_image_info *info)
{
    mc_image *img = NULL;
    mc_err err;

    mc__ctx_detail(ctx, "%s", ""); /* this call's only, its MC_EINVAL's too */
    if (out == NULL || out_len == NULL)
        return MC_EINVAL;
    if ((err = mc_decrypt_image(ctx, key, in, in_len, &img)) != MC_OK)
        return err;
    if ((err = mc_image_encode(ctx, img, out, out_len)) == MC_OK && info != NULL)
        mc_image_get_info(img, info);
    mc_image_free(img);
    return err;
}

mc_err mc_cipher_inspect(mc_ctx *ctx, const uint8_t *in, size_t in_len, mc_cipher_info *info)
{
    mc_image shell; /* the geometry alone, for mc_image_get_info */
    mc__header hdr;
    mc_err err;

    /* The detail is this call's when it fails (which version, for
     * MC_EVERSION; what the file is, for MC_ENOTCIPHER; what another
     * program added, for MC_ETAMPERED; else none), and left as it was
     * when it succeeds: a program asks for the key id after a
     * decryption's MC_EWRONGKEY and then prints that decryption's detail
     * (the command does). */
    if (ctx == NULL || info == NULL || (in == NULL && in_len > 0)) {
        mc__ctx_detail(ctx, "%s", "");
        return MC_EINVAL;
    }
    /* The chunk list alone, nothing inflated: instant for any size, and
     * under no pixel cap (nothing is allocated for the pixels). */
    if ((err = mc__container_inspect(ctx, in, in_len, &hdr)) != MC_OK)
        return err;
    memset(&shell, 0, sizeof shell);
    shell.width = hdr.width;
    shell.height = hdr.height;
    shell.frames = hdr.frames;
    shell.channels = hdr.channels;
    shell.bits = hdr.bits;
    shell.format = hdr.format;
    info->version = hdr.version;
    memcpy(info->key_id, hdr.key_id, MC_KEY_ID_BYTES);
    mc_image_get_info(&shell, &info->image);
    return MC_OK;
}
