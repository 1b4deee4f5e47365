import COpenSSL

/// AES-256-GCM through libcrypto's EVP interface: 32-byte key, 12-byte nonce, 16-byte tag.
public enum AESGCM {
    public static let nonceSize = 12
    public static let tagSize = 16

    public struct AuthenticationFailure: Error, CustomStringConvertible {
        public var description: String { "the sealed value failed authentication (wrong key, data or context)" }
    }

    /// Returns ciphertext followed by the tag.
    public static func seal(_ plaintext: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        precondition(key.count == 32 && nonce.count == nonceSize)
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL(function: "EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        var output = [UInt8](repeating: 0, count: plaintext.count + tagSize)
        var length: Int32 = 0
        guard EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(nonceSize), nil) == 1,
              EVP_EncryptInit_ex(context, nil, nil, key, nonce) == 1
        else { throw CryptoError.openSSL(function: "EVP_EncryptInit_ex") }
        if !associatedData.isEmpty {
            guard EVP_EncryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) == 1 else {
                throw CryptoError.openSSL(function: "EVP_EncryptUpdate(aad)")
            }
        }
        let written = try output.withUnsafeMutableBufferPointer { out -> Int32 in
            var total: Int32 = 0
            if !plaintext.isEmpty {
                guard EVP_EncryptUpdate(context, out.baseAddress, &length, plaintext, Int32(plaintext.count)) == 1 else {
                    throw CryptoError.openSSL(function: "EVP_EncryptUpdate")
                }
                total = length
            }
            guard EVP_EncryptFinal_ex(context, out.baseAddress! + Int(total), &length) == 1 else {
                throw CryptoError.openSSL(function: "EVP_EncryptFinal_ex")
            }
            total += length
            guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(tagSize), out.baseAddress! + Int(total)) == 1 else {
                throw CryptoError.openSSL(function: "EVP_CTRL_GCM_GET_TAG")
            }
            return total
        }
        precondition(Int(written) == plaintext.count)
        return output
    }

    /// Opens ciphertext+tag; throws `AuthenticationFailure` if any byte of key, nonce, data,
    /// tag or associated data differs from what was sealed.
    public static func open(_ sealed: [UInt8], key: [UInt8], nonce: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        precondition(key.count == 32 && nonce.count == nonceSize)
        guard sealed.count >= tagSize else { throw AuthenticationFailure() }
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL(function: "EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        let ciphertext = Array(sealed.dropLast(tagSize))
        var tag = Array(sealed.suffix(tagSize))
        var length: Int32 = 0
        guard EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_IVLEN, Int32(nonceSize), nil) == 1,
              EVP_DecryptInit_ex(context, nil, nil, key, nonce) == 1
        else { throw CryptoError.openSSL(function: "EVP_DecryptInit_ex") }
        if !associatedData.isEmpty {
            guard EVP_DecryptUpdate(context, nil, &length, associatedData, Int32(associatedData.count)) == 1 else {
                throw AuthenticationFailure()
            }
        }
        var output = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var total: Int32 = 0
        try output.withUnsafeMutableBufferPointer { out in
            if !ciphertext.isEmpty {
                guard EVP_DecryptUpdate(context, out.baseAddress, &length, ciphertext, Int32(ciphertext.count)) == 1 else {
                    throw AuthenticationFailure()
                }
                total = length
            }
            guard EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tagSize), &tag) == 1,
                  EVP_DecryptFinal_ex(context, out.baseAddress! + Int(total), &length) == 1
            else { throw AuthenticationFailure() }
            total += length
        }
        return Array(output.prefix(Int(total)))
    }
}
