/* JPEG through libjpeg-turbo: decode only. The decoded 8-bit samples
 * (gray, or RGB from YCbCr/RGB) are what medcrypt encrypts; decryption
 * gives them back as a lossless PNG, since writing a JPEG again would
 * lose data (DESIGN §2 "Formats"). The JPEG's own markers (APPn, COM,
 * ICC profile) are not kept; src/jpeg_meta.c names them for the user.
 * libjpeg's own buffers are wiped before they are freed (src/jpeg_mem.c).
 *
 * References: ITU-T T.81 (JPEG), cited as "T.81"; libjpeg's libjpeg.txt
 * ("Error handling", "Decompression details") and jerror.h. */
#include "internal.h"

#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE and size_t */
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

/* Every libjpeg function the decoder calls, through one table. */
#define JPEG_FUNCTIONS(X)                                                                     \
    X(jpeg_std_error)                                                                         \
    X(jpeg_CreateDecompress)                                                                  \
    X(jpeg_mem_src)                                                                           \
    X(jpeg_read_header)                                                                       \
    X(jpeg_start_decompress)                                                                  \
    X(jpeg_read_scanlines)                                                                    \
    X(jpeg_finish_decompress)                                                                 \
    X(jpeg_destroy_decompress)

/* The prototypes are libjpeg's own (__typeof__): the table cannot drift
 * from the headers it was built against. */
struct jpeg_lib {
#define JPEG_FIELD(f) __typeof__(&f) f;
    JPEG_FUNCTIONS(JPEG_FIELD)
#undef JPEG_FIELD
};

#ifdef MC_LIBJPEG_SONAME
#include <pthread.h>

/* libjpeg is loaded at the first JPEG, not when the program starts: most
 * runs read no JPEG, and on the VM of docs/PERFORMANCE.md each library
 * the dynamic loader maps costs the start of every process about 0.18 ms
 * (a 512x512 PNG encrypt takes 7). MC_LIBJPEG_SONAME is the file name of
 * the libjpeg that meson found the headers with (../meson.build). A
 * library that cannot be loaded is tried again at the next JPEG (a
 * server outlives a package upgrade); meanwhile a JPEG is
 * MC_EUNSUPPORTED with the loader's reason as the detail. */
static struct jpeg_lib lib;
static bool lib_loaded;
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct jpeg_lib *jpeg_lib(const mc_ctx *ctx)
{
#define JPEG_NAME(f) #f,
    static const char *const names[] = {JPEG_FUNCTIONS(JPEG_NAME)};
#undef JPEG_NAME
    void *sym[sizeof names / sizeof names[0]];
    char why[256];
    size_t i = 0;
    bool ok;

    pthread_mutex_lock(&lib_lock);
    if (!lib_loaded &&
        mc__dl_load(MC_LIBJPEG_SONAME, names, sym, sizeof names / sizeof names[0], why,
                    sizeof why)) {
#define JPEG_SET(f) memcpy(&lib.f, &sym[i++], sizeof lib.f);
        JPEG_FUNCTIONS(JPEG_SET)
#undef JPEG_SET
        lib_loaded = true;
    }
    ok = lib_loaded;
    pthread_mutex_unlock(&lib_lock);
    if (!ok) {
        mc__ctx_detail(ctx, "libjpeg cannot be loaded: %s", why);
        return NULL;
    }
    return &lib;
}
#else
/* Linked in (meson found no file name for it). */
static const struct jpeg_lib lib = {
#define JPEG_INIT(f) .f = f,
    JPEG_FUNCTIONS(JPEG_INIT)
#undef JPEG_INIT
};

static const struct jpeg_lib *jpeg_lib(const mc_ctx *ctx)
{
    (void)ctx;
    return &lib;
}
#endif

/* libjpeg.txt, "Error handling": error_exit must not return; we jump back
 * to the decoder with the message code. Warnings (emit_message with
 * msg_level -1) about damaged data are errors too: a medical image with
 * missing or corrupt data must not be encrypted as if it were whole. */
struct err_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int code; /* message code that stopped decoding */
    const mc_ctx *ctx; /* for mc__ctx_detail() */
};

static mc_err map_code(int code)
{
    switch (code) {
    case JWRN_JPEG_EOF:     /* "Premature end of JPEG file" */
    case JERR_INPUT_EMPTY:  /* "Empty input file" */
    case JERR_INPUT_EOF:
        return MC_ETRUNCATED;
    case JERR_NO_IMAGE:     /* a marker stream without a frame */
        return MC_ETRUNCATED;
    case JERR_BAD_PRECISION: /* T.81: 12-bit (or lossless) precision */
    case JERR_SOF_UNSUPPORTED: /* lossless, hierarchical... */
    case JERR_NOT_COMPILED:
    case JERR_CCIR601_NOTIMPL:
        return MC_EUNSUPPORTED;
    case JERR_OUT_OF_MEMORY:
    /* a progressive JPEG's coefficients past libjpeg's cap (JPEGMEM or
     * max_memory_to_use), with no temporary-file store to spill them to
     * (jmemnobs.c): out of memory too, not a corrupt file */
    case JERR_NO_BACKING_STORE:
        return MC_ENOMEM;
    default:
        return MC_EFORMAT; /* corrupt or not a JPEG */
    }
}

/* libjpeg's own text for the message ("Premature end of JPEG file",
 * "Corrupt JPEG data: 12 extraneous bytes before marker 0xd9"): numbers
 * and markers only, never image content. */
static void stop(j_common_ptr cinfo, const mc_ctx *ctx)
{
    struct err_mgr *e = (struct err_mgr *)(void *)cinfo->err;
    char text[JMSG_LENGTH_MAX];

    e->code = e->pub.msg_code;
    e->pub.format_message(cinfo, text);
    mc__ctx_detail(ctx, "libjpeg: %s", text);
    longjmp(e->jump, 1);
}

static void on_error(j_common_ptr cinfo)
{
    stop(cinfo, ((struct err_mgr *)(void *)cinfo->err)->ctx);
}

/* Warnings that say nothing about the pixels are allowed: an unknown JFIF
 * revision, a malformed ICC profile chunk (not used here). Everything else
 * (libjpeg's JWRN_HIT_MARKER "premature end of data segment",
 * JWRN_EXTRANEOUS_DATA "corrupt JPEG data", JWRN_JPEG_EOF, bad Huffman or
 * arithmetic codes, bogus progression, ...) stops decoding. Trace messages
 * (msg_level >= 1) are ignored; nothing is ever printed. */
static void on_message(j_common_ptr cinfo, int msg_level)
{
    struct err_mgr *e = (struct err_mgr *)(void *)cinfo->err;
    int code = e->pub.msg_code;

    if (msg_level >= 0)
        return;
    if (code == JWRN_JFIF_MAJOR || code == JWRN_BOGUS_ICC)
        return;
    stop(cinfo, e->ctx);
}

static void on_output(j_common_ptr cinfo)
{
    (void)cinfo; /* never print to stderr from a library */
}

mc_err mc_preload_jpeg(const mc_ctx *ctx)
{
    if (ctx == NULL)
        return MC_EINVAL;
    return jpeg_lib(ctx) != NULL ? MC_OK : MC_EUNSUPPORTED;
}

bool mc__jpeg_sniff(const uint8_t *buf, size_t len)
{
    /* T.81 B.1.1.3: SOI (FF D8) and the next marker's FF. */
    return buf != NULL && len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff;
}

/* Everything touched after setjmp lives here, so nothing needs volatile
 * (C11 7.13.2.1: automatic objects changed between setjmp and longjmp
 * are indeterminate after the jump). */
struct jpeg_job {
    const struct jpeg_lib *lib;
    struct jpeg_decompress_struct cinfo;
    struct err_mgr err;
    mc_image *img;
    mc__chunk_hasher *hasher; /* or NULL (chunkhash.c) */
    bool created;
};

static mc_err decode(const mc_ctx *ctx, const uint8_t *buf, size_t len, struct jpeg_job *j)
{
    struct jpeg_decompress_struct *ci = &j->cinfo;
    uint8_t channels;
    size_t row_len;
    mc_err err;

    j->err.ctx = ctx;
    ci->err = j->lib->jpeg_std_error(&j->err.pub);
    j->err.pub.error_exit = on_error;
    j->err.pub.emit_message = on_message;
    j->err.pub.output_message = on_output;
    if (setjmp(j->err.jump) != 0)
        return map_code(j->err.code);
    j->lib->jpeg_CreateDecompress(ci, JPEG_LIB_VERSION, sizeof *ci); /* jpeg_create_decompress */
    j->created = true;
    /* libjpeg's buffers hold decoded rows and coefficients: wiped before
     * they are freed (jpeg_mem.c) */
    if (!mc__jpeg_track((j_common_ptr)ci))
        return MC_ENOMEM;
    j->lib->jpeg_mem_src(ci, buf, (unsigned long)len);
    if (j->lib->jpeg_read_header(ci, TRUE) != JPEG_HEADER_OK)
        return MC_ETRUNCATED; /* tables only, no image */

    /* T.81 B.2.2: P (sample precision) 8 or 12; libjpeg-turbo's 8-bit
     * build refuses 12 with JERR_BAD_PRECISION, but be explicit. */
    if (ci->data_precision != 8) {
        mc__ctx_detail(ctx, "%d-bit JPEG samples are not supported (8-bit are)",
                       ci->data_precision);
        return MC_EUNSUPPORTED;
    }
    switch (ci->jpeg_color_space) {
    case JCS_GRAYSCALE:
        ci->out_color_space = JCS_GRAYSCALE;
        channels = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        ci->out_color_space = JCS_RGB;
        channels = 3;
        break;
    default:
        mc__ctx_detail(ctx, "JPEG color space %s is not supported (gray, YCbCr and RGB are)",
                       ci->jpeg_color_space == JCS_CMYK   ? "CMYK"
                       : ci->jpeg_color_space == JCS_YCCK ? "YCCK"
                                                          : "unknown");
        return MC_EUNSUPPORTED; /* CMYK, YCCK, or unknown components */
    }
    /* The pixel cap before libjpeg allocates anything for the image. */
    if ((err = mc__geometry_check(ctx, ci->image_width, ci->image_height, channels, 8, NULL)) !=
        MC_OK)
        return err; /* with the size and the cap as the detail */

    /* libjpeg's defaults (JDCT_ISLOW, fancy upsampling), as djpeg uses:
     * the samples are libjpeg-turbo's exact decode. */
    j->lib->jpeg_start_decompress(ci);
    if (ci->output_components != channels || ci->output_width != ci->image_width ||
        ci->output_height != ci->image_height)
        return MC_EFORMAT;
    if ((err = mc__image_alloc(ctx, ci->output_width, ci->output_height, channels, 8, &j->img)) !=
        MC_OK)
        return err;
    j->img->format = MC_FORMAT_JPEG;
    row_len = (size_t)ci->output_width * channels;
    /* A large JPEG to be encrypted has its chunk digests hashed on
     * another core while libjpeg decodes on this one: its scanlines come
     * out in order and final (no buffered-image mode). */
    j->hasher = mc__chunk_hasher_for(ctx, j->img);
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW row = j->img->samples + (size_t)ci->output_scanline * row_len;
        if (j->lib->jpeg_read_scanlines(ci, &row, 1) != 1)
            return MC_ETRUNCATED; /* cannot happen with a memory source */
        if (j->hasher != NULL)
            mc__chunk_hasher_ready(j->hasher, (size_t)ci->output_scanline * row_len);
    }
    /* Reads to EOI: damage after the last scanline still counts. */
    j->lib->jpeg_finish_decompress(ci);
    if (j->hasher != NULL) {
        j->img->digests = mc__chunk_hasher_finish(j->hasher, &j->img->digests_len);
        j->hasher = NULL;
    }
    return MC_OK;
}

mc_err mc__jpeg_decode(const mc_ctx *ctx, const uint8_t *buf, size_t len, mc_image **out)
{
    struct jpeg_job j;
    mc_err err;

    if (out == NULL || (buf == NULL && len > 0))
        return MC_EINVAL;
    if (!mc__jpeg_sniff(buf, len))
        return MC_EFORMAT;
    memset(&j, 0, sizeof j);
    if ((j.lib = jpeg_lib(ctx)) == NULL)
        return MC_EUNSUPPORTED;
    err = decode(ctx, buf, len, &j);
    mc__chunk_hasher_abort(j.hasher); /* before the samples it reads go */
    if (j.created)
        j.lib->jpeg_destroy_decompress(&j.cinfo);
    if (err != MC_OK) {
        mc_image_free(j.img); /* wipes partially decoded samples */
        return err;
    }
    *out = j.img;
    return MC_OK;
}
