/* A sensor-triggered app: declared with
 *   --trigger rising:0:2200:100@on_change --trigger falling:0:2200:100@on_change
 * it runs when the temperature (SAUL device 0, hundredths of a degree)
 * crosses 22.00 °C. It switches the first actuator on (rising) or off
 * (falling), counts the switches in its key-value namespace, logs what it
 * did, and returns the temperature that fired it. */
#include "alkyl.h"

#define SWITCHES_KEY 1

int on_change(const alkyl_trigger_event_t *ev, unsigned long len)
{
    if (len < sizeof(*ev)) {
        return -1; /* not run by a trigger */
    }
    int on = ev->kind == ALKYL_TRIGGER_RISING;
    bpf_saul_reg_t *act = bpf_saul_reg_find_type(ALKYL_SAUL_ACT_ANY);
    if (act) {
        bpf_saul_reg_write_value(act, on ? 255 : 0);
    }
    uint32_t switches = 0;
    bpf_fetch_local(SWITCHES_KEY, &switches);
    bpf_store_local(SWITCHES_KEY, ++switches);
    char value[16];
    unsigned long n = bpf_fmt_s16_dfp(value, ev->value.val[0], -ev->value.scale);
    value[n < sizeof(value) ? n : sizeof(value) - 1] = 0;
    bpf_printf("%s C: heater %s (switch %u)\n", value, on ? "on" : "off", switches);
    return ev->value.val[0];
}
