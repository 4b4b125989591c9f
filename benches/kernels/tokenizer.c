/* A switch-driven tokenizer: a state machine over byte classes (space,
 * letter, digit, quote, punctuation) counting tokens of each kind and
 * hashing identifiers and numbers; the class and state switches compile
 * to compare chains. Returns a mix of the counts and the hash. */
#include "kernel.h"

enum { SPACE, LETTER, DIGIT, QUOTE, PUNCT };
enum { S_START, S_IDENT, S_NUMBER, S_STRING };

static u32 class_of(u32 c) {
    if (c < 40) return SPACE;
    if (c < 130) return LETTER;
    if (c < 190) return DIGIT;
    if (c < 200) return QUOTE;
    return PUNCT;
}

// bench-input: 512 seed 16
KERNEL(tokenizer) {
    u32 state = S_START, idents = 0, numbers = 0, strings = 0, puncts = 0, h = 0, value = 0;
    for (u32 i = 0; i < len; i++) {
        u32 c = buf[i];
        u32 k = class_of(c);
        switch (state) {
        case S_START:
            switch (k) {
            case LETTER: state = S_IDENT; h = h * 33 + c; break;
            case DIGIT: state = S_NUMBER; value = c - 130; break;
            case QUOTE: state = S_STRING; break;
            case PUNCT: puncts++; break;
            default: break;
            }
            break;
        case S_IDENT:
            if (k == LETTER || k == DIGIT) {
                h = h * 33 + c;
            } else {
                idents++;
                state = S_START;
                if (k == PUNCT) puncts++;
                else if (k == QUOTE) state = S_STRING;
            }
            break;
        case S_NUMBER:
            if (k == DIGIT) {
                value = value * 10 + (c - 130);
            } else {
                numbers++;
                h ^= value;
                state = k == LETTER ? S_IDENT : S_START;
                if (k == PUNCT) puncts++;
            }
            break;
        default: /* S_STRING */
            if (k == QUOTE) {
                strings++;
                state = S_START;
            } else {
                h += c;
            }
            break;
        }
    }
    return h ^ (idents << 24) ^ (numbers << 16) ^ (strings << 8) ^ puncts ^ state;
}
