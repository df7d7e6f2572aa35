<?php

declare(strict_types=1);

namespace Sse\Tests\Support;

/** Tokens signed here, as a publisher's or subscriber's app would sign them (and some forged). */
final class Jwt
{
    public static function hs256(array $claims, string $secret, string $alg = 'HS256'): string
    {
        $hash = ['HS256' => 'sha256', 'HS384' => 'sha384', 'HS512' => 'sha512'][$alg];
        $head = self::b64(json_encode(['alg' => $alg, 'typ' => 'JWT']));
        $body = self::b64(json_encode($claims));
        return "$head.$body." . self::b64(hash_hmac($hash, "$head.$body", $secret, true));
    }

    public static function rs256(array $claims, \OpenSSLAsymmetricKey $key): string
    {
        $head = self::b64(json_encode(['alg' => 'RS256', 'typ' => 'JWT']));
        $body = self::b64(json_encode($claims));
        openssl_sign("$head.$body", $signature, $key, OPENSSL_ALGO_SHA256);
        return "$head.$body." . self::b64($signature);
    }

    /** An unsigned token (`alg: none`), the classic forgery. */
    public static function none(array $claims): string
    {
        return self::b64(json_encode(['alg' => 'none', 'typ' => 'JWT'])) . '.' . self::b64(json_encode($claims)) . '.';
    }

    private static function b64(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }
}
