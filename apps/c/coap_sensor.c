/* The rBPF paper's Listing 1: read the first sensor and answer the CoAP
 * request with its value as text. Triggered by a CoAP request: r1/r2 hold
 * the request payload (unused here), r3 the address of the CoAP context.
 * Returns the response length, or a CoAP code when no sensor can be read. */
#include "alkyl.h"

long coap_resp(const uint8_t *request, unsigned long request_len, bpf_coap_ctx_t *gcoap)
{
    /* Find the first sensor (RIOT's saul_reg_find_nth is 0-based). */
    bpf_saul_reg_t *sens = bpf_saul_reg_find_nth(0);
    phydat_t m;
    if (!sens || bpf_saul_reg_read(sens, &m) < 0) {
        return ALKYL_COAP_CODE_INTERNAL_ERROR;
    }
    /* Format the CoAP packet. */
    bpf_gcoap_resp_init(gcoap, ALKYL_COAP_CODE_CONTENT);
    bpf_coap_add_format(gcoap, ALKYL_COAP_FORMAT_TEXT);
    long pdu_len = bpf_coap_opt_finish(gcoap, ALKYL_COAP_OPT_FINISH_PAYLOAD);
    /* Add the value as payload: val[0] * 10^scale. */
    uint8_t *payload = bpf_coap_get_pdu(gcoap);
    pdu_len += bpf_fmt_s16_dfp((char *)payload, m.val[0], -m.scale);
    return pdu_len;
}
