/*
 * metrics/expmap.c: the base-2 exponential mapping of expmap.h.
 *
 * lumen__exp_index never calls log() at scales up to 8: the bucket is the
 * IEEE exponent of v, shifted for negative scales, plus for positive scales
 * the count of sub-octave boundaries 2^(j/256) below v's mantissa, found
 * with a table lookup on its top bits and one comparison with g_bound, and
 * shifted for scales below 8. Each boundary but j = 0 is irrational, so
 * "m > 2^(j/256)" is exactly "m >= the smallest double above 2^(j/256)",
 * which is what g_bound holds (computed to 60 digits, not with this
 * machine's exp2): the comparison is exact, and so is the index, at every
 * double. Above scale 8 it takes log2l and checks the
 * result against the neighbouring boundaries in long double.
 */
#include <math.h>
#include <string.h>

#include "metrics/expmap.h"

/* The finest scale the table serves; finer scales take log2l. */
#define TABLE_SCALE 8

/* g_bound[j]: the smallest double m with m > 2^(j/256), for j in 1..255
 * (g_bound[0] = 1 is never compared: a mantissa of exactly 1 is handled
 * before the lookup). */
static const double g_bound[1 << TABLE_SCALE] = {
    0x1.0000000000000p+0, 0x1.00b1afa5abcbfp+0, 0x1.0163da9fb3336p+0, 0x1.02168143b0281p+0,
    0x1.02c9a3e778061p+0, 0x1.037d42e11bbcdp+0, 0x1.04315e86e7f85p+0, 0x1.04e5f72f654b2p+0,
    0x1.059b0d3158575p+0, 0x1.0650a0e3c1f89p+0, 0x1.0706b29ddf6dep+0, 0x1.07bd42b72a837p+0,
    0x1.0874518759bc9p+0, 0x1.092bdf66607e0p+0, 0x1.09e3ecac6f384p+0, 0x1.0a9c79b1f391ap+0,
    0x1.0b5586cf98910p+0, 0x1.0c0f145e46c86p+0, 0x1.0cc922b7247f8p+0, 0x1.0d83b23395decp+0,
    0x1.0e3ec32d3d1a3p+0, 0x1.0efa55fdfa9c5p+0, 0x1.0fb66affed31bp+0, 0x1.1073028d7233fp+0,
    0x1.11301d0125b51p+0, 0x1.11edbab5e2ab6p+0, 0x1.12abdc06c31ccp+0, 0x1.136a814f204abp+0,
    0x1.1429aaea92de0p+0, 0x1.14e95934f312ep+0, 0x1.15a98c8a58e52p+0, 0x1.166a45471c3c3p+0,
    0x1.172b83c7d517bp+0, 0x1.17ed48695bbc1p+0, 0x1.18af9388c8deap+0, 0x1.1972658375d30p+0,
    0x1.1a35beb6fcb76p+0, 0x1.1af99f8138a1dp+0, 0x1.1bbe084045cd4p+0, 0x1.1c82f95281c6cp+0,
    0x1.1d4873168b9abp+0, 0x1.1e0e75eb44027p+0, 0x1.1ed5022fcd91dp+0, 0x1.1f9c18438ce4dp+0,
    0x1.2063b88628cd7p+0, 0x1.212be3578a81ap+0, 0x1.21f49917ddc97p+0, 0x1.22bdda27912d2p+0,
    0x1.2387a6e756239p+0, 0x1.2451ffb82140bp+0, 0x1.251ce4fb2a640p+0, 0x1.25e85711ece76p+0,
    0x1.26b4565e27cdep+0, 0x1.2780e341ddf2ap+0, 0x1.284dfe1f56381p+0, 0x1.291ba7591bb70p+0,
    0x1.29e9df51fdee2p+0, 0x1.2ab8a66d10f13p+0, 0x1.2b87fd0dad990p+0, 0x1.2c57e39771b2fp+0,
    0x1.2d285a6e4030cp+0, 0x1.2df961f64158ap+0, 0x1.2ecafa93e2f57p+0, 0x1.2f9d24abd886bp+0,
    0x1.306fe0a31b716p+0, 0x1.31432edeeb2fep+0, 0x1.32170fc4cd832p+0, 0x1.32eb83ba8ea32p+0,
    0x1.33c08b2641700p+0, 0x1.3496266e3fa2dp+0, 0x1.356c55f929ff1p+0, 0x1.36431a2de883bp+0,
    0x1.371a7373aa9cbp+0, 0x1.37f26231e754ap+0, 0x1.38cae6d05d866p+0, 0x1.39a401b7140efp+0,
    0x1.3a7db34e59ff7p+0, 0x1.3b57fbfec6cf5p+0, 0x1.3c32dc313a8e5p+0, 0x1.3d0e544ede174p+0,
    0x1.3dea64c123423p+0, 0x1.3ec70df1c5175p+0, 0x1.3fa4504ac801cp+0, 0x1.40822c367a025p+0,
    0x1.4160a21f72e2ap+0, 0x1.423fb2709468ap+0, 0x1.431f5d950a897p+0, 0x1.43ffa3f84b9d5p+0,
    0x1.44e086061892ep+0, 0x1.45c2042a7d232p+0, 0x1.46a41ed1d0058p+0, 0x1.4786d668b3237p+0,
    0x1.486a2b5c13cd1p+0, 0x1.494e1e192aed2p+0, 0x1.4a32af0d7d3dfp+0, 0x1.4b17dea6db7d7p+0,
    0x1.4bfdad5362a28p+0, 0x1.4ce41b817c115p+0, 0x1.4dcb299fddd0ep+0, 0x1.4eb2d81d8abffp+0,
    0x1.4f9b2769d2ca7p+0, 0x1.508417f4531efp+0, 0x1.516daa2cf6642p+0, 0x1.5257de83f4eefp+0,
    0x1.5342b569d4f82p+0, 0x1.542e2f4f6ad28p+0, 0x1.551a4ca5d920fp+0, 0x1.56070dde910d2p+0,
    0x1.56f4736b527dbp+0, 0x1.57e27dbe2c4cfp+0, 0x1.58d12d497c7fep+0, 0x1.59c0827ff07ccp+0,
    0x1.5ab07dd48542ap+0, 0x1.5ba11fba87a03p+0, 0x1.5c9268a5946b8p+0, 0x1.5d84590998b93p+0,
    0x1.5e76f15ad2149p+0, 0x1.5f6a320dceb71p+0, 0x1.605e1b976dc09p+0, 0x1.6152ae6cdf6f5p+0,
    0x1.6247eb03a5585p+0, 0x1.633dd1d1929fep+0, 0x1.6434634ccc320p+0, 0x1.652b9febc8fb7p+0,
    0x1.6623882552225p+0, 0x1.671c1c70833f6p+0, 0x1.68155d44ca974p+0, 0x1.690f4b19e9539p+0,
    0x1.6a09e667f3bcdp+0, 0x1.6b052fa75173fp+0, 0x1.6c012750bdabfp+0, 0x1.6cfdcddd47646p+0,
    0x1.6dfb23c651a2fp+0, 0x1.6ef9298593ae5p+0, 0x1.6ff7df9519484p+0, 0x1.70f7466f42e88p+0,
    0x1.71f75e8ec5f74p+0, 0x1.72f8286ead08ap+0, 0x1.73f9a48a58174p+0, 0x1.74fbd35d7cbfep+0,
    0x1.75feb564267c9p+0, 0x1.77024b1ab6e0ap+0, 0x1.780694fde5d40p+0, 0x1.790b938ac1cf7p+0,
    0x1.7a11473eb0187p+0, 0x1.7b17b0976cfdbp+0, 0x1.7c1ed0130c133p+0, 0x1.7d26a62ff86f1p+0,
    0x1.7e2f336cf4e63p+0, 0x1.7f3878491c491p+0, 0x1.80427543e1a12p+0, 0x1.814d2add106dap+0,
    0x1.82589994cce13p+0, 0x1.8364c1eb941f8p+0, 0x1.8471a4623c7adp+0, 0x1.857f4179f5b21p+0,
    0x1.868d99b4492edp+0, 0x1.879cad931a437p+0, 0x1.88ac7d98a669ap+0, 0x1.89bd0a4785810p+0,
    0x1.8ace5422aa0dcp+0, 0x1.8be05bad61779p+0, 0x1.8cf3216b5448cp+0, 0x1.8e06a5e0866d9p+0,
    0x1.8f1ae99157737p+0, 0x1.902fed0282c8bp+0, 0x1.9145b0b91ffc6p+0, 0x1.925c353aa2fe2p+0,
    0x1.93737b0cdc5e5p+0, 0x1.948b82b5f98e5p+0, 0x1.95a44cbc8520fp+0, 0x1.96bdd9a7670b3p+0,
    0x1.97d829fde4e50p+0, 0x1.98f33e47a22a3p+0, 0x1.9a0f170ca07bap+0, 0x1.9b2bb4d53fe0dp+0,
    0x1.9c49182a3f091p+0, 0x1.9d674194bb8d5p+0, 0x1.9e86319e32324p+0, 0x1.9fa5e8d07f29ep+0,
    0x1.a0c667b5de565p+0, 0x1.a1e7aed8eb8bcp+0, 0x1.a309bec4a2d34p+0, 0x1.a42c980460ad8p+0,
    0x1.a5503b23e255dp+0, 0x1.a674a8af46053p+0, 0x1.a799e1330b359p+0, 0x1.a8bfe53c12e59p+0,
    0x1.a9e6b5579fdc0p+0, 0x1.ab0e521356ebbp+0, 0x1.ac36bbfd3f37ap+0, 0x1.ad5ff3a3c2775p+0,
    0x1.ae89f995ad3aep+0, 0x1.afb4ce622f2ffp+0, 0x1.b0e07298db666p+0, 0x1.b20ce6c9a8953p+0,
    0x1.b33a2b84f15fbp+0, 0x1.b468415b749b1p+0, 0x1.b59728de5593ap+0, 0x1.b6c6e29f1c52bp+0,
    0x1.b7f76f2fb5e47p+0, 0x1.b928cf22749e4p+0, 0x1.ba5b030a1064ap+0, 0x1.bb8e0b79a6f1fp+0,
    0x1.bcc1e904bc1d3p+0, 0x1.bdf69c3f3a207p+0, 0x1.bf2c25bd71e09p+0, 0x1.c06286141b33dp+0,
    0x1.c199bdd85529dp+0, 0x1.c2d1cd9fa652cp+0, 0x1.c40ab5fffd07bp+0, 0x1.c544778fafb23p+0,
    0x1.c67f12e57d14cp+0, 0x1.c7ba88988c933p+0, 0x1.c8f6d9406e7b6p+0, 0x1.ca3405751c4dbp+0,
    0x1.cb720dcef906ap+0, 0x1.ccb0f2e6d1675p+0, 0x1.cdf0b555dc3fap+0, 0x1.cf3155b5bab74p+0,
    0x1.d072d4a07897cp+0, 0x1.d1b532b08c969p+0, 0x1.d2f87080d89f2p+0, 0x1.d43c8eacaa1d7p+0,
    0x1.d5818dcfba488p+0, 0x1.d6c76e862e6d4p+0, 0x1.d80e316c98398p+0, 0x1.d955d71ff6076p+0,
    0x1.da9e603db3286p+0, 0x1.dbe7cd63a8315p+0, 0x1.dd321f301b461p+0, 0x1.de7d5641c0658p+0,
    0x1.dfc97337b9b5fp+0, 0x1.e11676b197d17p+0, 0x1.e264614f5a129p+0, 0x1.e3b333b16ee12p+0,
    0x1.e502ee78b3ff7p+0, 0x1.e653924676d76p+0, 0x1.e7a51fbc74c84p+0, 0x1.e8f7977cdb740p+0,
    0x1.ea4afa2a490dap+0, 0x1.eb9f4867cca6fp+0, 0x1.ecf482d8e67f1p+0, 0x1.ee4aaa2188511p+0,
    0x1.efa1bee615a28p+0, 0x1.f0f9c1cb6412ap+0, 0x1.f252b376bba98p+0, 0x1.f3ac948dd7274p+0,
    0x1.f50765b6e4541p+0, 0x1.f6632798844f9p+0, 0x1.f7bfdad9cbe14p+0, 0x1.f91d802243c89p+0,
    0x1.fa7c1819e90d9p+0, 0x1.fbdba3692d514p+0, 0x1.fd3c22b8f71f2p+0, 0x1.fe9d96b2a23dap+0,
};

/* g_slot[k]: the scale-8 sub-bucket of m = 1 + k/1024, the start of the
 * k-th 1/1024 of the mantissa range (the count of g_bound[1..] <= it).
 * Buckets at scale 8 are wider than 1/1024 of the mantissa (the narrowest,
 * next to 1, is 2^(1/256) - 1 = 0.0027), so a slot holds at most one
 * boundary: the sub-bucket of any m in it is g_slot[k] or one more, and
 * one comparison with g_bound says which. */
static const uint8_t g_slot[1024] = {
    0,   0,   0,   1,   1,   1,   2,   2,   2,   3,   3,   3,   4,   4,   5,   5,   5,   6,   6,
    6,   7,   7,   7,   8,   8,   8,   9,   9,   9,   10,  10,  11,  11,  11,  12,  12,  12,  13,
    13,  13,  14,  14,  14,  15,  15,  15,  16,  16,  16,  17,  17,  17,  18,  18,  18,  19,  19,
    20,  20,  20,  21,  21,  21,  22,  22,  22,  23,  23,  23,  24,  24,  24,  25,  25,  25,  26,
    26,  26,  27,  27,  27,  28,  28,  28,  29,  29,  29,  30,  30,  30,  31,  31,  31,  32,  32,
    32,  33,  33,  33,  34,  34,  34,  35,  35,  35,  36,  36,  36,  37,  37,  37,  38,  38,  38,
    38,  39,  39,  39,  40,  40,  40,  41,  41,  41,  42,  42,  42,  43,  43,  43,  44,  44,  44,
    45,  45,  45,  46,  46,  46,  47,  47,  47,  47,  48,  48,  48,  49,  49,  49,  50,  50,  50,
    51,  51,  51,  52,  52,  52,  52,  53,  53,  53,  54,  54,  54,  55,  55,  55,  56,  56,  56,
    57,  57,  57,  57,  58,  58,  58,  59,  59,  59,  60,  60,  60,  61,  61,  61,  61,  62,  62,
    62,  63,  63,  63,  64,  64,  64,  64,  65,  65,  65,  66,  66,  66,  67,  67,  67,  67,  68,
    68,  68,  69,  69,  69,  70,  70,  70,  70,  71,  71,  71,  72,  72,  72,  73,  73,  73,  73,
    74,  74,  74,  75,  75,  75,  76,  76,  76,  76,  77,  77,  77,  78,  78,  78,  78,  79,  79,
    79,  80,  80,  80,  80,  81,  81,  81,  82,  82,  82,  82,  83,  83,  83,  84,  84,  84,  85,
    85,  85,  85,  86,  86,  86,  87,  87,  87,  87,  88,  88,  88,  88,  89,  89,  89,  90,  90,
    90,  90,  91,  91,  91,  92,  92,  92,  92,  93,  93,  93,  94,  94,  94,  94,  95,  95,  95,
    96,  96,  96,  96,  97,  97,  97,  97,  98,  98,  98,  99,  99,  99,  99,  100, 100, 100, 100,
    101, 101, 101, 102, 102, 102, 102, 103, 103, 103, 103, 104, 104, 104, 105, 105, 105, 105, 106,
    106, 106, 106, 107, 107, 107, 108, 108, 108, 108, 109, 109, 109, 109, 110, 110, 110, 110, 111,
    111, 111, 112, 112, 112, 112, 113, 113, 113, 113, 114, 114, 114, 114, 115, 115, 115, 116, 116,
    116, 116, 117, 117, 117, 117, 118, 118, 118, 118, 119, 119, 119, 119, 120, 120, 120, 121, 121,
    121, 121, 122, 122, 122, 122, 123, 123, 123, 123, 124, 124, 124, 124, 125, 125, 125, 125, 126,
    126, 126, 126, 127, 127, 127, 127, 128, 128, 128, 128, 129, 129, 129, 129, 130, 130, 130, 131,
    131, 131, 131, 132, 132, 132, 132, 133, 133, 133, 133, 134, 134, 134, 134, 135, 135, 135, 135,
    136, 136, 136, 136, 137, 137, 137, 137, 138, 138, 138, 138, 139, 139, 139, 139, 140, 140, 140,
    140, 140, 141, 141, 141, 141, 142, 142, 142, 142, 143, 143, 143, 143, 144, 144, 144, 144, 145,
    145, 145, 145, 146, 146, 146, 146, 147, 147, 147, 147, 148, 148, 148, 148, 149, 149, 149, 149,
    149, 150, 150, 150, 150, 151, 151, 151, 151, 152, 152, 152, 152, 153, 153, 153, 153, 154, 154,
    154, 154, 155, 155, 155, 155, 155, 156, 156, 156, 156, 157, 157, 157, 157, 158, 158, 158, 158,
    159, 159, 159, 159, 159, 160, 160, 160, 160, 161, 161, 161, 161, 162, 162, 162, 162, 162, 163,
    163, 163, 163, 164, 164, 164, 164, 165, 165, 165, 165, 165, 166, 166, 166, 166, 167, 167, 167,
    167, 168, 168, 168, 168, 168, 169, 169, 169, 169, 170, 170, 170, 170, 171, 171, 171, 171, 171,
    172, 172, 172, 172, 173, 173, 173, 173, 173, 174, 174, 174, 174, 175, 175, 175, 175, 175, 176,
    176, 176, 176, 177, 177, 177, 177, 177, 178, 178, 178, 178, 179, 179, 179, 179, 179, 180, 180,
    180, 180, 181, 181, 181, 181, 181, 182, 182, 182, 182, 183, 183, 183, 183, 183, 184, 184, 184,
    184, 185, 185, 185, 185, 185, 186, 186, 186, 186, 187, 187, 187, 187, 187, 188, 188, 188, 188,
    188, 189, 189, 189, 189, 190, 190, 190, 190, 190, 191, 191, 191, 191, 191, 192, 192, 192, 192,
    193, 193, 193, 193, 193, 194, 194, 194, 194, 194, 195, 195, 195, 195, 196, 196, 196, 196, 196,
    197, 197, 197, 197, 197, 198, 198, 198, 198, 198, 199, 199, 199, 199, 200, 200, 200, 200, 200,
    201, 201, 201, 201, 201, 202, 202, 202, 202, 202, 203, 203, 203, 203, 203, 204, 204, 204, 204,
    205, 205, 205, 205, 205, 206, 206, 206, 206, 206, 207, 207, 207, 207, 207, 208, 208, 208, 208,
    208, 209, 209, 209, 209, 209, 210, 210, 210, 210, 210, 211, 211, 211, 211, 212, 212, 212, 212,
    212, 213, 213, 213, 213, 213, 214, 214, 214, 214, 214, 215, 215, 215, 215, 215, 216, 216, 216,
    216, 216, 217, 217, 217, 217, 217, 218, 218, 218, 218, 218, 219, 219, 219, 219, 219, 220, 220,
    220, 220, 220, 221, 221, 221, 221, 221, 222, 222, 222, 222, 222, 223, 223, 223, 223, 223, 223,
    224, 224, 224, 224, 224, 225, 225, 225, 225, 225, 226, 226, 226, 226, 226, 227, 227, 227, 227,
    227, 228, 228, 228, 228, 228, 229, 229, 229, 229, 229, 230, 230, 230, 230, 230, 231, 231, 231,
    231, 231, 231, 232, 232, 232, 232, 232, 233, 233, 233, 233, 233, 234, 234, 234, 234, 234, 235,
    235, 235, 235, 235, 235, 236, 236, 236, 236, 236, 237, 237, 237, 237, 237, 238, 238, 238, 238,
    238, 239, 239, 239, 239, 239, 239, 240, 240, 240, 240, 240, 241, 241, 241, 241, 241, 242, 242,
    242, 242, 242, 242, 243, 243, 243, 243, 243, 244, 244, 244, 244, 244, 245, 245, 245, 245, 245,
    245, 246, 246, 246, 246, 246, 247, 247, 247, 247, 247, 247, 248, 248, 248, 248, 248, 249, 249,
    249, 249, 249, 250, 250, 250, 250, 250, 250, 251, 251, 251, 251, 251, 252, 252, 252, 252, 252,
    252, 253, 253, 253, 253, 253, 254, 254, 254, 254, 254, 254, 255, 255, 255, 255, 255,
};

/* v = m * 2^e with m in [1, 2): e and the mantissa bits (exact, subnormals
 * included). */
static int split(double v, double *m)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    int e = (int)((b >> 52) & 0x7ff);
    if (e == 0) { /* subnormal: scale it into the normal range first */
        double w = v * 0x1p64;
        memcpy(&b, &w, sizeof b);
        e = (int)((b >> 52) & 0x7ff) - 64;
    }
    b = (b & 0xfffffffffffffULL) | 0x3ff0000000000000ULL;
    memcpy(m, &b, sizeof *m);
    return e - 1023;
}

int32_t lumen__exp_index(double v, int scale)
{
    double m;
    int32_t e = split(v, &m);
    if (scale <= 0) {
        /* At scale 0 bucket e is (2^e, 2^(e+1)]; a power of two is the top
         * of the bucket below. Coarser scales merge 2^-scale of them. */
        int32_t i0 = m == 1.0 ? e - 1 : e;
        return i0 >> -scale; /* arithmetic: floor division for negatives */
    }
    if (m == 1.0)
        return e * ((int32_t)1 << scale) - 1;
    if (scale <= TABLE_SCALE) {
        /* The bucket at scale 8 from the top 10 mantissa bits and one
         * comparison, no branch to mispredict; coarser scales merge
         * 2^(8 - scale) of them. */
        uint64_t b;
        memcpy(&b, &m, sizeof b);
        int32_t j = g_slot[(b >> 42) & 1023];
        j += j < 255 && g_bound[j + 1] <= m;
        return (e * ((int32_t)1 << TABLE_SCALE) + j) >> (TABLE_SCALE - scale);
    }
    long double n = ldexpl(1.0L, scale);
    int32_t k = (int32_t)floorl(log2l((long double)m) * n);
    if (k > 0 && (long double)m <= exp2l((long double)k / n))
        k--;
    else if ((long double)m > exp2l((long double)(k + 1) / n))
        k++;
    return e * ((int32_t)1 << scale) + k;
}

double lumen__exp_lower(int32_t i, int scale)
{
    if (scale <= 0) {
        /* 2^(i * 2^-scale); beyond +-2000 it is 0 or inf anyway, and the
         * clamp keeps the shift's result an int. */
        int64_t e = (int64_t)i * ((int64_t)1 << -scale);
        return ldexp(1.0, e < -2000 ? -2000 : e > 2000 ? 2000 : (int)e);
    }
    int32_t n = (int32_t)1 << scale;
    int32_t e = i >> scale; /* floor */
    int32_t j = i - e * n;  /* 0 .. n-1 */
    return (double)ldexpl(exp2l((long double)j / n), e);
}
