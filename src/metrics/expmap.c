/*
 * metrics/expmap.c: the exponential bucket mapping of expmap.h.
 *
 * For scales up to 8 the index is exact, computed without log(): the
 * IEEE exponent gives the octave, and the mantissa's place among the 255
 * boundaries 2^(t/256) inside an octave gives the scale-8 index. Those
 * boundaries are irrational, so no double lies on one: a mantissa m is
 * above boundary t exactly when its 52 fraction bits exceed
 * floor(2^52 * (2^(t/256) - 1)) (lumen__exp_bound8). The top 9 fraction
 * bits pick an interval of width 1/512, narrower than any bucket
 * (2^(1/256) - 1 > 1/512), so it holds at most one boundary: a table
 * lookup and one compare. A lower scale's index is the scale-8 index
 * shifted right by 8 - s (every boundary of scale s is one of scale 8),
 * which also keeps powers of two exact: 2^E is index E * 256 - 1 at
 * scale 8.
 *
 * Scales above 8 (OpenTelemetry allows 20) use log2 and correct the
 * result against the boundaries computed with exp2: they may be off by
 * one within a few ulps of a boundary, as OpenTelemetry's specification
 * allows for the logarithm method. The tables were generated with 80
 * digits of decimal arithmetic.
 */
#include <math.h>
#include <string.h>

#include "metrics/expmap.h"

/* floor(2^52 * (2^(t/256) - 1)) for t = 0..255, and 2^52 for t = 256. */
static const uint64_t lumen__exp_bound8[257] = {
    0x0000000000000ull,  0x00b1afa5abcbeull, 0x0163da9fb3335ull, 0x02168143b0280ull,
    0x02c9a3e778060ull,  0x037d42e11bbccull, 0x04315e86e7f84ull, 0x04e5f72f654b1ull,
    0x059b0d3158574ull,  0x0650a0e3c1f88ull, 0x0706b29ddf6ddull, 0x07bd42b72a836ull,
    0x0874518759bc8ull,  0x092bdf66607dfull, 0x09e3ecac6f383ull, 0x0a9c79b1f3919ull,
    0x0b5586cf9890full,  0x0c0f145e46c85ull, 0x0cc922b7247f7ull, 0x0d83b23395debull,
    0x0e3ec32d3d1a2ull,  0x0efa55fdfa9c4ull, 0x0fb66affed31aull, 0x1073028d7233eull,
    0x11301d0125b50ull,  0x11edbab5e2ab5ull, 0x12abdc06c31cbull, 0x136a814f204aaull,
    0x1429aaea92ddfull,  0x14e95934f312dull, 0x15a98c8a58e51ull, 0x166a45471c3c2ull,
    0x172b83c7d517aull,  0x17ed48695bbc0ull, 0x18af9388c8de9ull, 0x1972658375d2full,
    0x1a35beb6fcb75ull,  0x1af99f8138a1cull, 0x1bbe084045cd3ull, 0x1c82f95281c6bull,
    0x1d4873168b9aaull,  0x1e0e75eb44026ull, 0x1ed5022fcd91cull, 0x1f9c18438ce4cull,
    0x2063b88628cd6ull,  0x212be3578a819ull, 0x21f49917ddc96ull, 0x22bdda27912d1ull,
    0x2387a6e756238ull,  0x2451ffb82140aull, 0x251ce4fb2a63full, 0x25e85711ece75ull,
    0x26b4565e27cddull,  0x2780e341ddf29ull, 0x284dfe1f56380ull, 0x291ba7591bb6full,
    0x29e9df51fdee1ull,  0x2ab8a66d10f12ull, 0x2b87fd0dad98full, 0x2c57e39771b2eull,
    0x2d285a6e4030bull,  0x2df961f641589ull, 0x2ecafa93e2f56ull, 0x2f9d24abd886aull,
    0x306fe0a31b715ull,  0x31432edeeb2fdull, 0x32170fc4cd831ull, 0x32eb83ba8ea31ull,
    0x33c08b26416ffull,  0x3496266e3fa2cull, 0x356c55f929ff0ull, 0x36431a2de883aull,
    0x371a7373aa9caull,  0x37f26231e7549ull, 0x38cae6d05d865ull, 0x39a401b7140eeull,
    0x3a7db34e59ff6ull,  0x3b57fbfec6cf4ull, 0x3c32dc313a8e4ull, 0x3d0e544ede173ull,
    0x3dea64c123422ull,  0x3ec70df1c5174ull, 0x3fa4504ac801bull, 0x40822c367a024ull,
    0x4160a21f72e29ull,  0x423fb27094689ull, 0x431f5d950a896ull, 0x43ffa3f84b9d4ull,
    0x44e086061892dull,  0x45c2042a7d231ull, 0x46a41ed1d0057ull, 0x4786d668b3236ull,
    0x486a2b5c13cd0ull,  0x494e1e192aed1ull, 0x4a32af0d7d3deull, 0x4b17dea6db7d6ull,
    0x4bfdad5362a27ull,  0x4ce41b817c114ull, 0x4dcb299fddd0dull, 0x4eb2d81d8abfeull,
    0x4f9b2769d2ca6ull,  0x508417f4531eeull, 0x516daa2cf6641ull, 0x5257de83f4eeeull,
    0x5342b569d4f81ull,  0x542e2f4f6ad27ull, 0x551a4ca5d920eull, 0x56070dde910d1ull,
    0x56f4736b527daull,  0x57e27dbe2c4ceull, 0x58d12d497c7fdull, 0x59c0827ff07cbull,
    0x5ab07dd485429ull,  0x5ba11fba87a02ull, 0x5c9268a5946b7ull, 0x5d84590998b92ull,
    0x5e76f15ad2148ull,  0x5f6a320dceb70ull, 0x605e1b976dc08ull, 0x6152ae6cdf6f4ull,
    0x6247eb03a5584ull,  0x633dd1d1929fdull, 0x6434634ccc31full, 0x652b9febc8fb6ull,
    0x6623882552224ull,  0x671c1c70833f5ull, 0x68155d44ca973ull, 0x690f4b19e9538ull,
    0x6a09e667f3bccull,  0x6b052fa75173eull, 0x6c012750bdabeull, 0x6cfdcddd47645ull,
    0x6dfb23c651a2eull,  0x6ef9298593ae4ull, 0x6ff7df9519483ull, 0x70f7466f42e87ull,
    0x71f75e8ec5f73ull,  0x72f8286ead089ull, 0x73f9a48a58173ull, 0x74fbd35d7cbfdull,
    0x75feb564267c8ull,  0x77024b1ab6e09ull, 0x780694fde5d3full, 0x790b938ac1cf6ull,
    0x7a11473eb0186ull,  0x7b17b0976cfdaull, 0x7c1ed0130c132ull, 0x7d26a62ff86f0ull,
    0x7e2f336cf4e62ull,  0x7f3878491c490ull, 0x80427543e1a11ull, 0x814d2add106d9ull,
    0x82589994cce12ull,  0x8364c1eb941f7ull, 0x8471a4623c7acull, 0x857f4179f5b20ull,
    0x868d99b4492ecull,  0x879cad931a436ull, 0x88ac7d98a6699ull, 0x89bd0a478580full,
    0x8ace5422aa0dbull,  0x8be05bad61778ull, 0x8cf3216b5448bull, 0x8e06a5e0866d8ull,
    0x8f1ae99157736ull,  0x902fed0282c8aull, 0x9145b0b91ffc5ull, 0x925c353aa2fe1ull,
    0x93737b0cdc5e4ull,  0x948b82b5f98e4ull, 0x95a44cbc8520eull, 0x96bdd9a7670b2ull,
    0x97d829fde4e4full,  0x98f33e47a22a2ull, 0x9a0f170ca07b9ull, 0x9b2bb4d53fe0cull,
    0x9c49182a3f090ull,  0x9d674194bb8d4ull, 0x9e86319e32323ull, 0x9fa5e8d07f29dull,
    0xa0c667b5de564ull,  0xa1e7aed8eb8bbull, 0xa309bec4a2d33ull, 0xa42c980460ad7ull,
    0xa5503b23e255cull,  0xa674a8af46052ull, 0xa799e1330b358ull, 0xa8bfe53c12e58ull,
    0xa9e6b5579fdbfull,  0xab0e521356ebaull, 0xac36bbfd3f379ull, 0xad5ff3a3c2774ull,
    0xae89f995ad3adull,  0xafb4ce622f2feull, 0xb0e07298db665ull, 0xb20ce6c9a8952ull,
    0xb33a2b84f15faull,  0xb468415b749b0ull, 0xb59728de55939ull, 0xb6c6e29f1c52aull,
    0xb7f76f2fb5e46ull,  0xb928cf22749e3ull, 0xba5b030a10649ull, 0xbb8e0b79a6f1eull,
    0xbcc1e904bc1d2ull,  0xbdf69c3f3a206ull, 0xbf2c25bd71e08ull, 0xc06286141b33cull,
    0xc199bdd85529cull,  0xc2d1cd9fa652bull, 0xc40ab5fffd07aull, 0xc544778fafb22ull,
    0xc67f12e57d14bull,  0xc7ba88988c932ull, 0xc8f6d9406e7b5ull, 0xca3405751c4daull,
    0xcb720dcef9069ull,  0xccb0f2e6d1674ull, 0xcdf0b555dc3f9ull, 0xcf3155b5bab73ull,
    0xd072d4a07897bull,  0xd1b532b08c968ull, 0xd2f87080d89f1ull, 0xd43c8eacaa1d6ull,
    0xd5818dcfba487ull,  0xd6c76e862e6d3ull, 0xd80e316c98397ull, 0xd955d71ff6075ull,
    0xda9e603db3285ull,  0xdbe7cd63a8314ull, 0xdd321f301b460ull, 0xde7d5641c0657ull,
    0xdfc97337b9b5eull,  0xe11676b197d16ull, 0xe264614f5a128ull, 0xe3b333b16ee11ull,
    0xe502ee78b3ff6ull,  0xe653924676d75ull, 0xe7a51fbc74c83ull, 0xe8f7977cdb73full,
    0xea4afa2a490d9ull,  0xeb9f4867cca6eull, 0xecf482d8e67f0ull, 0xee4aaa2188510ull,
    0xefa1bee615a27ull,  0xf0f9c1cb64129ull, 0xf252b376bba97ull, 0xf3ac948dd7273ull,
    0xf50765b6e4540ull,  0xf6632798844f8ull, 0xf7bfdad9cbe13ull, 0xf91d802243c88ull,
    0xfa7c1819e90d8ull,  0xfbdba3692d513ull, 0xfd3c22b8f71f1ull, 0xfe9d96b2a23d9ull,
    0x10000000000000ull,
};

/* How many of the boundaries 2^(t/256), t = 1..255, lie below 1 + k/512. */
static const uint8_t lumen__exp_first8[512] = {
    0,   0,   1,   2,   2,   3,   4,   5,   5,   6,   7,   7,   8,   9,   9,   10,  11,  12,  12,
    13,  14,  14,  15,  16,  16,  17,  18,  18,  19,  20,  21,  21,  22,  23,  23,  24,  25,  25,
    26,  27,  27,  28,  29,  29,  30,  31,  31,  32,  33,  33,  34,  35,  35,  36,  37,  37,  38,
    38,  39,  40,  40,  41,  42,  42,  43,  44,  44,  45,  46,  46,  47,  47,  48,  49,  49,  50,
    51,  51,  52,  52,  53,  54,  54,  55,  56,  56,  57,  57,  58,  59,  59,  60,  61,  61,  62,
    62,  63,  64,  64,  65,  65,  66,  67,  67,  68,  68,  69,  70,  70,  71,  71,  72,  73,  73,
    74,  74,  75,  76,  76,  77,  77,  78,  78,  79,  80,  80,  81,  81,  82,  82,  83,  84,  84,
    85,  85,  86,  87,  87,  88,  88,  89,  89,  90,  90,  91,  92,  92,  93,  93,  94,  94,  95,
    96,  96,  97,  97,  98,  98,  99,  99,  100, 100, 101, 102, 102, 103, 103, 104, 104, 105, 105,
    106, 106, 107, 108, 108, 109, 109, 110, 110, 111, 111, 112, 112, 113, 113, 114, 114, 115, 116,
    116, 117, 117, 118, 118, 119, 119, 120, 120, 121, 121, 122, 122, 123, 123, 124, 124, 125, 125,
    126, 126, 127, 127, 128, 128, 129, 129, 130, 131, 131, 132, 132, 133, 133, 134, 134, 135, 135,
    136, 136, 137, 137, 138, 138, 139, 139, 140, 140, 140, 141, 141, 142, 142, 143, 143, 144, 144,
    145, 145, 146, 146, 147, 147, 148, 148, 149, 149, 150, 150, 151, 151, 152, 152, 153, 153, 154,
    154, 155, 155, 155, 156, 156, 157, 157, 158, 158, 159, 159, 160, 160, 161, 161, 162, 162, 162,
    163, 163, 164, 164, 165, 165, 166, 166, 167, 167, 168, 168, 168, 169, 169, 170, 170, 171, 171,
    172, 172, 173, 173, 173, 174, 174, 175, 175, 176, 176, 177, 177, 177, 178, 178, 179, 179, 180,
    180, 181, 181, 181, 182, 182, 183, 183, 184, 184, 185, 185, 185, 186, 186, 187, 187, 188, 188,
    188, 189, 189, 190, 190, 191, 191, 191, 192, 192, 193, 193, 194, 194, 194, 195, 195, 196, 196,
    197, 197, 197, 198, 198, 199, 199, 200, 200, 200, 201, 201, 202, 202, 202, 203, 203, 204, 204,
    205, 205, 205, 206, 206, 207, 207, 207, 208, 208, 209, 209, 209, 210, 210, 211, 211, 212, 212,
    212, 213, 213, 214, 214, 214, 215, 215, 216, 216, 216, 217, 217, 218, 218, 218, 219, 219, 220,
    220, 220, 221, 221, 222, 222, 222, 223, 223, 223, 224, 224, 225, 225, 225, 226, 226, 227, 227,
    227, 228, 228, 229, 229, 229, 230, 230, 231, 231, 231, 232, 232, 232, 233, 233, 234, 234, 234,
    235, 235, 235, 236, 236, 237, 237, 237, 238, 238, 239, 239, 239, 240, 240, 240, 241, 241, 242,
    242, 242, 243, 243, 243, 244, 244, 245, 245, 245, 246, 246, 246, 247, 247, 247, 248, 248, 249,
    249, 249, 250, 250, 250, 251, 251, 252, 252, 252, 253, 253, 253, 254, 254, 254, 255, 255,
};

/* 2^(t/256), correctly rounded, for t = 0..255. */
static const double lumen__exp_pow8[256] = {
    0x1.0000000000000p+0, 0x1.00b1afa5abcbfp+0, 0x1.0163da9fb3335p+0, 0x1.02168143b0281p+0,
    0x1.02c9a3e778061p+0, 0x1.037d42e11bbccp+0, 0x1.04315e86e7f85p+0, 0x1.04e5f72f654b1p+0,
    0x1.059b0d3158574p+0, 0x1.0650a0e3c1f89p+0, 0x1.0706b29ddf6dep+0, 0x1.07bd42b72a836p+0,
    0x1.0874518759bc8p+0, 0x1.092bdf66607e0p+0, 0x1.09e3ecac6f383p+0, 0x1.0a9c79b1f3919p+0,
    0x1.0b5586cf9890fp+0, 0x1.0c0f145e46c85p+0, 0x1.0cc922b7247f7p+0, 0x1.0d83b23395decp+0,
    0x1.0e3ec32d3d1a2p+0, 0x1.0efa55fdfa9c5p+0, 0x1.0fb66affed31bp+0, 0x1.1073028d7233ep+0,
    0x1.11301d0125b51p+0, 0x1.11edbab5e2ab6p+0, 0x1.12abdc06c31ccp+0, 0x1.136a814f204abp+0,
    0x1.1429aaea92de0p+0, 0x1.14e95934f312ep+0, 0x1.15a98c8a58e51p+0, 0x1.166a45471c3c2p+0,
    0x1.172b83c7d517bp+0, 0x1.17ed48695bbc0p+0, 0x1.18af9388c8deap+0, 0x1.1972658375d2fp+0,
    0x1.1a35beb6fcb75p+0, 0x1.1af99f8138a1cp+0, 0x1.1bbe084045cd4p+0, 0x1.1c82f95281c6bp+0,
    0x1.1d4873168b9aap+0, 0x1.1e0e75eb44027p+0, 0x1.1ed5022fcd91dp+0, 0x1.1f9c18438ce4dp+0,
    0x1.2063b88628cd6p+0, 0x1.212be3578a819p+0, 0x1.21f49917ddc96p+0, 0x1.22bdda27912d1p+0,
    0x1.2387a6e756238p+0, 0x1.2451ffb82140ap+0, 0x1.251ce4fb2a63fp+0, 0x1.25e85711ece75p+0,
    0x1.26b4565e27cddp+0, 0x1.2780e341ddf29p+0, 0x1.284dfe1f56381p+0, 0x1.291ba7591bb70p+0,
    0x1.29e9df51fdee1p+0, 0x1.2ab8a66d10f13p+0, 0x1.2b87fd0dad990p+0, 0x1.2c57e39771b2fp+0,
    0x1.2d285a6e4030bp+0, 0x1.2df961f641589p+0, 0x1.2ecafa93e2f56p+0, 0x1.2f9d24abd886bp+0,
    0x1.306fe0a31b715p+0, 0x1.31432edeeb2fdp+0, 0x1.32170fc4cd831p+0, 0x1.32eb83ba8ea32p+0,
    0x1.33c08b26416ffp+0, 0x1.3496266e3fa2dp+0, 0x1.356c55f929ff1p+0, 0x1.36431a2de883bp+0,
    0x1.371a7373aa9cbp+0, 0x1.37f26231e754ap+0, 0x1.38cae6d05d866p+0, 0x1.39a401b7140efp+0,
    0x1.3a7db34e59ff7p+0, 0x1.3b57fbfec6cf4p+0, 0x1.3c32dc313a8e5p+0, 0x1.3d0e544ede173p+0,
    0x1.3dea64c123422p+0, 0x1.3ec70df1c5175p+0, 0x1.3fa4504ac801cp+0, 0x1.40822c367a024p+0,
    0x1.4160a21f72e2ap+0, 0x1.423fb2709468ap+0, 0x1.431f5d950a897p+0, 0x1.43ffa3f84b9d4p+0,
    0x1.44e086061892dp+0, 0x1.45c2042a7d232p+0, 0x1.46a41ed1d0057p+0, 0x1.4786d668b3237p+0,
    0x1.486a2b5c13cd0p+0, 0x1.494e1e192aed2p+0, 0x1.4a32af0d7d3dep+0, 0x1.4b17dea6db7d7p+0,
    0x1.4bfdad5362a27p+0, 0x1.4ce41b817c114p+0, 0x1.4dcb299fddd0dp+0, 0x1.4eb2d81d8abffp+0,
    0x1.4f9b2769d2ca7p+0, 0x1.508417f4531eep+0, 0x1.516daa2cf6642p+0, 0x1.5257de83f4eefp+0,
    0x1.5342b569d4f82p+0, 0x1.542e2f4f6ad27p+0, 0x1.551a4ca5d920fp+0, 0x1.56070dde910d2p+0,
    0x1.56f4736b527dap+0, 0x1.57e27dbe2c4cfp+0, 0x1.58d12d497c7fdp+0, 0x1.59c0827ff07ccp+0,
    0x1.5ab07dd485429p+0, 0x1.5ba11fba87a03p+0, 0x1.5c9268a5946b7p+0, 0x1.5d84590998b93p+0,
    0x1.5e76f15ad2148p+0, 0x1.5f6a320dceb71p+0, 0x1.605e1b976dc09p+0, 0x1.6152ae6cdf6f4p+0,
    0x1.6247eb03a5585p+0, 0x1.633dd1d1929fdp+0, 0x1.6434634ccc320p+0, 0x1.652b9febc8fb7p+0,
    0x1.6623882552225p+0, 0x1.671c1c70833f6p+0, 0x1.68155d44ca973p+0, 0x1.690f4b19e9538p+0,
    0x1.6a09e667f3bcdp+0, 0x1.6b052fa75173ep+0, 0x1.6c012750bdabfp+0, 0x1.6cfdcddd47645p+0,
    0x1.6dfb23c651a2fp+0, 0x1.6ef9298593ae5p+0, 0x1.6ff7df9519484p+0, 0x1.70f7466f42e87p+0,
    0x1.71f75e8ec5f74p+0, 0x1.72f8286ead08ap+0, 0x1.73f9a48a58174p+0, 0x1.74fbd35d7cbfdp+0,
    0x1.75feb564267c9p+0, 0x1.77024b1ab6e09p+0, 0x1.780694fde5d3fp+0, 0x1.790b938ac1cf6p+0,
    0x1.7a11473eb0187p+0, 0x1.7b17b0976cfdbp+0, 0x1.7c1ed0130c132p+0, 0x1.7d26a62ff86f0p+0,
    0x1.7e2f336cf4e62p+0, 0x1.7f3878491c491p+0, 0x1.80427543e1a12p+0, 0x1.814d2add106d9p+0,
    0x1.82589994cce13p+0, 0x1.8364c1eb941f7p+0, 0x1.8471a4623c7adp+0, 0x1.857f4179f5b21p+0,
    0x1.868d99b4492edp+0, 0x1.879cad931a436p+0, 0x1.88ac7d98a6699p+0, 0x1.89bd0a478580fp+0,
    0x1.8ace5422aa0dbp+0, 0x1.8be05bad61778p+0, 0x1.8cf3216b5448cp+0, 0x1.8e06a5e0866d9p+0,
    0x1.8f1ae99157736p+0, 0x1.902fed0282c8ap+0, 0x1.9145b0b91ffc6p+0, 0x1.925c353aa2fe2p+0,
    0x1.93737b0cdc5e5p+0, 0x1.948b82b5f98e5p+0, 0x1.95a44cbc8520fp+0, 0x1.96bdd9a7670b3p+0,
    0x1.97d829fde4e50p+0, 0x1.98f33e47a22a2p+0, 0x1.9a0f170ca07bap+0, 0x1.9b2bb4d53fe0dp+0,
    0x1.9c49182a3f090p+0, 0x1.9d674194bb8d5p+0, 0x1.9e86319e32323p+0, 0x1.9fa5e8d07f29ep+0,
    0x1.a0c667b5de565p+0, 0x1.a1e7aed8eb8bbp+0, 0x1.a309bec4a2d33p+0, 0x1.a42c980460ad8p+0,
    0x1.a5503b23e255dp+0, 0x1.a674a8af46052p+0, 0x1.a799e1330b358p+0, 0x1.a8bfe53c12e59p+0,
    0x1.a9e6b5579fdbfp+0, 0x1.ab0e521356ebap+0, 0x1.ac36bbfd3f37ap+0, 0x1.ad5ff3a3c2774p+0,
    0x1.ae89f995ad3adp+0, 0x1.afb4ce622f2ffp+0, 0x1.b0e07298db666p+0, 0x1.b20ce6c9a8952p+0,
    0x1.b33a2b84f15fbp+0, 0x1.b468415b749b1p+0, 0x1.b59728de5593ap+0, 0x1.b6c6e29f1c52ap+0,
    0x1.b7f76f2fb5e47p+0, 0x1.b928cf22749e4p+0, 0x1.ba5b030a1064ap+0, 0x1.bb8e0b79a6f1fp+0,
    0x1.bcc1e904bc1d2p+0, 0x1.bdf69c3f3a207p+0, 0x1.bf2c25bd71e09p+0, 0x1.c06286141b33dp+0,
    0x1.c199bdd85529cp+0, 0x1.c2d1cd9fa652cp+0, 0x1.c40ab5fffd07ap+0, 0x1.c544778fafb22p+0,
    0x1.c67f12e57d14bp+0, 0x1.c7ba88988c933p+0, 0x1.c8f6d9406e7b5p+0, 0x1.ca3405751c4dbp+0,
    0x1.cb720dcef9069p+0, 0x1.ccb0f2e6d1675p+0, 0x1.cdf0b555dc3fap+0, 0x1.cf3155b5bab74p+0,
    0x1.d072d4a07897cp+0, 0x1.d1b532b08c968p+0, 0x1.d2f87080d89f2p+0, 0x1.d43c8eacaa1d6p+0,
    0x1.d5818dcfba487p+0, 0x1.d6c76e862e6d3p+0, 0x1.d80e316c98398p+0, 0x1.d955d71ff6075p+0,
    0x1.da9e603db3285p+0, 0x1.dbe7cd63a8315p+0, 0x1.dd321f301b460p+0, 0x1.de7d5641c0658p+0,
    0x1.dfc97337b9b5fp+0, 0x1.e11676b197d17p+0, 0x1.e264614f5a129p+0, 0x1.e3b333b16ee12p+0,
    0x1.e502ee78b3ff6p+0, 0x1.e653924676d76p+0, 0x1.e7a51fbc74c83p+0, 0x1.e8f7977cdb740p+0,
    0x1.ea4afa2a490dap+0, 0x1.eb9f4867cca6ep+0, 0x1.ecf482d8e67f1p+0, 0x1.ee4aaa2188510p+0,
    0x1.efa1bee615a27p+0, 0x1.f0f9c1cb6412ap+0, 0x1.f252b376bba97p+0, 0x1.f3ac948dd7274p+0,
    0x1.f50765b6e4540p+0, 0x1.f6632798844f8p+0, 0x1.f7bfdad9cbe14p+0, 0x1.f91d802243c89p+0,
    0x1.fa7c1819e90d8p+0, 0x1.fbdba3692d514p+0, 0x1.fd3c22b8f71f1p+0, 0x1.fe9d96b2a23d9p+0,
};

/* v > 0 and finite: its exponent E and fraction bits f (v = (1 + f / 2^52) * 2^E). */
static inline void split(double v, int32_t *e, uint64_t *f)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    int32_t be = (int32_t)((u >> 52) & 0x7ff);
    if (be == 0) {
        /* Subnormal: scale into the normal range exactly. */
        v *= 0x1p64;
        memcpy(&u, &v, sizeof u);
        be = (int32_t)((u >> 52) & 0x7ff) - 64;
    }
    *e = be - 1023;
    *f = u & ((1ull << 52) - 1);
}

static inline int32_t index8(double v)
{
    int32_t e;
    uint64_t f;
    split(v, &e, &f);
    if (f == 0)
        return e * 256 - 1;
    unsigned lo = lumen__exp_first8[f >> 43];
    return e * 256 + (int32_t)lo + (f > lumen__exp_bound8[lo + 1]);
}

/* The sign of m * 2^e - lower(i) at scale s > 8, compared as exponent
 * and mantissa so that subnormal values compare at full precision. */
static int cmp_lower(int32_t e, double m, int64_t i, int scale)
{
    int64_t ei = i >> scale; /* floor */
    double mi = exp2((double)(i & ((1 << scale) - 1)) / (double)(1 << scale));
    if (e != ei)
        return e < ei ? -1 : 1;
    return m < mi ? -1 : m > mi;
}

int32_t lumen__exp_index(double v, int scale)
{
    if (scale <= 8)
        return index8(v) >> (8 - scale);
    /* Finer than the tables: from the logarithm, corrected. */
    int32_t e;
    uint64_t f;
    split(v, &e, &f);
    if (f == 0)
        return (int32_t)((int64_t)e * (1 << scale) - 1);
    double m = 1.0 + (double)f * 0x1p-52;
    int64_t i = (int64_t)e * (1 << scale) + (int64_t)floor(log2(m) * (1 << scale));
    if (cmp_lower(e, m, i, scale) <= 0)
        i--;
    else if (cmp_lower(e, m, i + 1, scale) > 0)
        i++;
    return (int32_t)i;
}

double lumen__exp_lower(int32_t i, int scale)
{
    if (scale <= 0) {
        int64_t e = (int64_t)i << -scale;
        if (e > 1100)
            return INFINITY;
        return ldexp(1.0, e < -1200 ? -1200 : (int)e);
    }
    int32_t e = i >> scale; /* floor */
    int32_t t = i & ((1 << scale) - 1);
    if (scale <= 8)
        return ldexp(lumen__exp_pow8[t << (8 - scale)], e);
    return ldexp(exp2((double)t / (double)(1 << scale)), e);
}
