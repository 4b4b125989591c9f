/* Fletcher-32, the rBPF paper's computing benchmark (RIOT's sys/checksum
 * algorithm). The script receives a context in r1: the address of the data
 * and its length in 16-bit words; it returns the checksum. */
#include <stdint.h>

struct fletcher32_ctx {
    const uint16_t *data;
    uint32_t words;
};

uint32_t fletcher32(struct fletcher32_ctx *ctx)
{
    const uint16_t *data = ctx->data;
    uint32_t words = ctx->words;
    uint32_t sum1 = 0xffff, sum2 = 0xffff;

    while (words) {
        /* At most 359 words per block: the sums cannot overflow 32 bits. */
        uint32_t tlen = words > 359 ? 359 : words;
        words -= tlen;
        do {
            sum2 += sum1 += *data++;
        } while (--tlen);
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    return (sum2 << 16) | sum1;
}
