"""wechatpy's message crypto with less work per callback, and WeChat's SHA-1 signature.

wechatpy builds a new PrpCrypto (and so a new AES cipher object) and a new signer object for every
message, and its cipher sets up a new AES context (the key schedule) for each; on one core that was
a tenth of what a callback cost the event loop. `Reused` keeps one PrpCrypto per configuration, whose
cipher decrypts CBC with one kept ECB context (`_CbcDecrypt`), and signs with `signature`; unpadding
and checking the app or corp id are still wechatpy's own code. `tests/test_perf_round8.py` compares
both with wechatpy on generated messages, tampered ones included.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
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


class _CbcDecrypt(threading.local):
    """AES-256-CBC decryption (WeChat's: the IV is the key's first 16 bytes) through one ECB context
    kept per thread: by CBC's definition each plaintext block is its ciphertext block decrypted alone,
    XOR the ciphertext block before it (the IV for the first), so no context is set up per message."""

    def __init__(self, key: bytes) -> None:
        self._ecb = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
        self._iv = key[:16]

    def decrypt(self, ciphertext: bytes) -> bytes:
        size = len(ciphertext)
        if size == 0 or size % 16:
            raise ValueError("The length of the provided data is not a multiple of the block length.")
        blocks = self._ecb.update(ciphertext)
        chain = self._iv + ciphertext[:-16]
        return (int.from_bytes(blocks, "big") ^ int.from_bytes(chain, "big")).to_bytes(size, "big")


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
            prp.cipher = _CbcDecrypt(self.key)   # only ever decrypts: encrypting builds its own
        return prp.decrypt(encrypt, self._id)


class Reused(_Reused, OfficialAccountCrypto):
    """wechatpy's Official Account crypto (`decrypt_message` takes the envelope's fields)."""


class ReusedWeCom(_Reused, WeComCrypto):
    """wechatpy's WeCom crypto (`decrypt_message` takes the envelope's fields)."""
