/* Strings in .rodata (and .rodata.str1.1), a table of them, initialised
 * .data and .bss, printf, and a bpf-to-bpf call: greets, counts the calls
 * in .bss state and reports the sensor classes it knows. */
#include "alkyl.h"

static const char *const names[] = { "temperature", "humidity", "light" };
static const uint8_t classes[] = { ALKYL_SAUL_SENSE_TEMP, ALKYL_SAUL_SENSE_HUM, ALKYL_SAUL_SENSE_LIGHT };
int greeting_count = 100;  /* .data */
static uint32_t calls;     /* .bss */

static __attribute__((noinline)) int describe(unsigned i)
{
    bpf_saul_reg_t *dev = bpf_saul_reg_find_type(classes[i]);
    return bpf_printf("%-12s %s\n", names[i], dev ? "present" : "absent");
}

int hello(void)
{
    calls++;
    greeting_count++;
    bpf_printf("hello from alkyl, run %u (%d)\n", calls, greeting_count);
    for (unsigned i = 0; i < sizeof(classes); i++) {
        describe(i);
    }
    return calls;
}

int goodbye(void)
{
    return bpf_printf("goodbye after %u runs\n", calls);
}
