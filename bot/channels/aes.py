"""wechatpy's message crypto with less work per callback, and WeChat's SHA-1 signature.

wechatpy builds a new PrpCrypto (and so a new AES cipher object) and a new signer object for every
message; on one core that was a tenth of what a callback cost the event loop. `Reused` keeps one
PrpCrypto per configuration (its cipher object makes a fresh decryptor for each message, as before)
and signs with `signature`; decrypting and checking the app or corp id are still wechatpy's own code.
`tests/test_perf_round8.py` compares both with wechatpy on generated messages.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from wechatpy.crypto import WeChatCrypto as OfficialAccountCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import to_binary


def signature(*parts: Any) -> str:
    """WeChat's signature: SHA-1 of the parts, as UTF-8, sorted and joined (wechatpy's WeChatSigner)."""
    return hashlib.sha1(b"".join(sorted(
        p.encode() if isinstance(p, str) and p else to_binary(p) for p in parts))).hexdigest()


def signed(expected: str, *parts: Any) -> bool:
    return hmac.compare_digest(signature(*parts).encode(), to_binary(expected))


class _Reused:
    key: bytes
    token: str
    _id: str

    def _decrypt_message(self, msg: Any, signature_: str, timestamp: str, nonce: str,
                         crypto_class: Any = None) -> str:
        if not isinstance(msg, dict):   # a whole document: wechatpy reads it
            return super()._decrypt_message(msg, signature_, timestamp, nonce, crypto_class)  # type: ignore[misc]
        encrypt = msg["Encrypt"]
        if not signed(signature_, self.token, timestamp, nonce, encrypt):
            raise InvalidSignatureException()
        cache: dict[Any, Any] = self.__dict__.setdefault("_prp", {})
        prp = cache.get(crypto_class)
        if prp is None:
            prp = cache[crypto_class] = crypto_class(self.key)
        return prp.decrypt(encrypt, self._id)


class Reused(_Reused, OfficialAccountCrypto):
    """wechatpy's Official Account crypto (`decrypt_message` takes the envelope's fields)."""


class ReusedWeCom(_Reused, WeComCrypto):
    """wechatpy's WeCom crypto (`decrypt_message` takes the envelope's fields)."""
