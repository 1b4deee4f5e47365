import Foundation
import Testing
import VoxCore

@Suite struct PasswordTests {
    @Test func hashIsNotThePasswordAndIsSalted() throws {
        let hasher = PasswordHasher.standard
        let password = "the same password"
        let first = try hasher.hash(password)
        let second = try hasher.hash(password)
        #expect(!first.contains(password))
        #expect(first != second)
        #expect(first.hasPrefix("$scrypt$ln=15,r=8,p=3$"))
        #expect(hasher.verify(password, against: first))
        #expect(hasher.verify(password, against: second))
        #expect(!hasher.verify("the same passworD", against: first))
    }

    @Test func malformedHashesNeverMatch() {
        let hasher = PasswordHasher(logN: 10, r: 8, p: 1)
        for bad in ["", "plain", "$scrypt$ln=99,r=8,p=1$AAAA$AAAA", "$scrypt$ln=10,r=8,p=1$$", "$bcrypt$x$y$z"] {
            #expect(!hasher.verify("x", against: bad))
        }
    }

    @Test func usersWithSamePasswordGetDifferentHashes() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("users-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let users = Users(database: try Database(path: path), hasher: PasswordHasher(logN: 10, r: 8, p: 1))
        let a = try users.create(email: "A@Example.com ", role: .admin, password: "shared secret 1")
        let b = try users.create(email: "b@example.com", role: .operator, password: "shared secret 1")
        #expect(a.email == "a@example.com")
        #expect(a.passwordHash != b.passwordHash)
        #expect(try users.verify(email: "a@example.com", password: "shared secret 1")?.id == a.id)
        #expect(try users.verify(email: "b@example.com", password: "wrong") == nil)
        #expect(try users.verify(email: "nobody@example.com", password: "shared secret 1") == nil)
        #expect(throws: UserError.emailTaken) {
            _ = try users.create(email: "a@example.com", role: .admin, password: "another one 2")
        }
        #expect(throws: UserError.invalidEmail) { _ = try users.create(email: "nope", role: .admin, password: "long enough!") }
        #expect(throws: UserError.weakPassword("use at least 10 characters")) {
            _ = try users.create(email: "c@example.com", role: .admin, password: "short")
        }
    }

    @Test func generatedPasswordsAreLongAndDistinct() {
        let passwords = (0..<50).map { _ in Users.generatePassword() }
        #expect(Set(passwords).count == 50)
        #expect(passwords.allSatisfy { $0.count == 20 })
    }

    @Test func masterKeyFileIsCreatedPrivate() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mk-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try Keyring.load(path: path, environmentValue: nil)
        let again = try Keyring.load(path: path, environmentValue: nil)
        #expect(first.derive("csrf") == again.derive("csrf"))
        #expect(first.derive("csrf") != first.derive("vault"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        chmod(path, 0o644)
        #expect(throws: Keyring.LoadError.self) { _ = try Keyring.load(path: path, environmentValue: nil) }
    }
}
