/*
 * The size baseline of the Alkyl firmware (../README.md): the same RIOT
 * modules, with what the Rust glue does at the C level (a catch-all gcoap
 * listener, the SAUL listing, one UDP socket, a ztimer loop) and no Alkyl.
 */

#include <stdio.h>

#include "net/gcoap.h"
#include "net/sock/udp.h"
#include "saul_reg.h"
#include "ztimer.h"

static ssize_t _any(coap_pkt_t *pdu, uint8_t *buf, size_t len, coap_request_ctx_t *ctx)
{
    (void)ctx;
    gcoap_resp_init(pdu, buf, len, COAP_CODE_CONTENT);
    size_t hdr = coap_opt_finish(pdu, COAP_OPT_FINISH_PAYLOAD);
    int n = snprintf((char *)pdu->payload, pdu->payload_len, "baseline");
    return hdr + (n > 0 ? n : 0);
}

static const coap_resource_t _resources[] = {
    { "/", COAP_GET | COAP_POST | COAP_PUT | COAP_DELETE | COAP_MATCH_SUBTREE, _any, NULL },
};

static gcoap_listener_t _listener = {
    .resources = _resources,
    .resources_len = ARRAY_SIZE(_resources),
};

int main(void)
{
    puts("Alkyl size baseline (no Alkyl)");
    unsigned count = 0;
    for (saul_reg_t *e = saul_reg; e; e = e->next) {
        phydat_t value;
        int dims = saul_reg_read(e, &value);
        printf("saul: %s: ", e->name ? e->name : "?");
        if (dims > 0) {
            phydat_dump(&value, dims);
        }
        else {
            puts("not readable");
        }
        count++;
    }
    printf("saul: %u device(s)\n", count);
    gcoap_register_listener(&_listener);

    sock_udp_t sock;
    sock_udp_ep_t local = SOCK_IPV6_EP_ANY;
    sock_udp_create(&sock, &local, NULL, 0);
    uint8_t buf[256];
    for (;;) {
        sock_udp_recv(&sock, buf, sizeof(buf), 0, NULL);
        ztimer_sleep(ZTIMER_MSEC, 100);
    }
    return 0;
}
