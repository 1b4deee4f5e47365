import FastCGI
import HTTPTransport
import Integrations
import ObjectStore
import VoxCore
import VoxServices

extension Catalog {
    /// An error's message in this language. What an upstream said in its own words (an API
    /// error's message, a store's reason) is quoted as it came: it is not ours to translate.
    func message(_ error: any HTTPResponseError) -> String {
        switch error {
        case let error as SetupError:
            switch error {
            case let .invalid(problem), let .inUse(problem): return self(problem.key, problem.values)
            case .notFound: return self("error_no_record")
            }
        case let error as VoximplantError: return self.voximplant(error)
        case let error as ElevenLabsError: return self.elevenLabs(error)
        case let error as ObjectStoreError: return self.store(error)
        case let error as Vault.VaultError:
            switch error {
            case .malformed: return self("vault_malformed")
            case let .unknownKey(id): return self("vault_unknown_key", ["id": String(id)])
            case let .cannotOpen(field): return self("vault_cannot_open", ["field": field])
            }
        case let error as UserError:
            switch error {
            case .invalidEmail: return self("error_invalid_email")
            case .emailTaken: return self("error_email_taken")
            case let .rejectedPassword(problem): return self("password_" + problem.rawValue, ["n": String(PasswordPolicy.minimumLength)])
            case .wrongCurrentPassword: return self("error_wrong_current_password")
            case .unknownTimeZone: return self("error_unknown_time_zone")
            case .notFound: return self("error_no_user")
            case .weakPassword: return error.message
            }
        case let error as TeamError:
            switch error {
            case .lastAdmin: return self("error_last_admin")
            case .notAnOperator: return self("error_not_an_operator")
            case .linkExpired: return self("error_link_expired")
            }
        case let error as TwoFactorError:
            switch error {
            case .wrongCode: return self("error_wrong_code")
            case .notEnrolling: return self("error_not_enrolling")
            case .enrolFirst: return self("error_enrol_first")
            }
        default:
            return error.message
        }
    }

    /// The heading of an error page: "404 · Not found" in the viewer's language.
    func reason(_ status: HTTPStatus) -> String {
        let key = "http_\(status.rawValue)"
        return strings[key] ?? status.reason
    }

    func voximplant(_ error: VoximplantError) -> String {
        switch error {
        case .authentication: self("vox_error_authentication")
        case .rateLimited: self("vox_error_rate_limited")
        case let .notFound(message): self("vox_error_not_found", ["message": message])
        case let .api(code, message): self("vox_error_api", ["code": String(code), "message": message])
        case let .http(status): self("vox_error_http", ["status": String(status)])
        case let .malformed(method): self("vox_error_malformed", ["method": method])
        case let .upstream(error): upstream(error)
        }
    }

    func elevenLabs(_ error: ElevenLabsError) -> String {
        switch error {
        case .invalidAPIKey: self("el_error_invalid_key")
        case let .notFound(message): self("el_error_not_found", ["message": message])
        case .rateLimited: self("el_error_rate_limited")
        case let .validation(message): self("el_error_validation", ["message": message])
        case let .api(status, message): self("el_error_api", ["status": String(status), "message": message])
        case let .malformed(path): self("el_error_malformed", ["path": path])
        case let .upstream(error): upstream(error)
        }
    }

    func store(_ error: ObjectStoreError) -> String {
        switch error {
        case let .notFound(key): self("store_error_not_found", ["key": key])
        case let .invalidKey(reason): self("store_error_invalid_key", ["reason": reason])
        case let .refused(status, code, message): self("store_error_refused", ["status": String(status), "code": code, "message": message])
        case let .unavailable(reason): self("store_error_unavailable", ["reason": reason])
        case let .io(reason): reason
        }
    }

    func upstream(_ error: UpstreamError) -> String {
        switch error {
        case let .timeout(service): self("upstream_timeout", ["service": service])
        case let .unreachable(service, reason): self("upstream_unreachable", ["service": service, "reason": reason])
        case let .gaveUp(service, status, attempts):
            self("upstream_gave_up", ["service": service, "status": String(status), "attempts": String(attempts)])
        case let .refused(service, reason): self("upstream_refused", ["service": service, "reason": reason])
        case let .tooLarge(service, limit): self("upstream_too_large", ["service": service, "mib": String(limit / 1_048_576)])
        }
    }

    /// A stored deploy step, in this language.
    func step(_ step: DeploymentStep) -> String {
        func storage(_ secure: Bool) -> String { self(secure ? "deploy_storage_secure" : "deploy_storage_ordinary") }
        switch step {
        case let .scenarioUpdated(id): return "✓ " + self("deploy_scenario_updated", ["id": String(id)])
        case let .scenarioCreated(name, id): return "✓ " + self("deploy_scenario_created", ["name": name, "id": String(id)])
        case let .applicationExists(id): return "✓ " + self("deploy_application_exists", ["id": String(id)])
        case let .applicationStorageSet(secure): return "✓ " + self("deploy_application_storage", ["storage": storage(secure)])
        case let .applicationCreated(name, id, secure):
            return "✓ " + self("deploy_application_created", ["name": name, "id": String(id), "storage": storage(secure)])
        case let .secretsSet(names): return "✓ " + self("deploy_secrets_set", ["names": names.joined(separator: ", ")])
        case let .ruleExists(id): return "✓ " + self("deploy_rule_exists", ["id": String(id)])
        case let .ruleCreated(name, id): return "✓ " + self("deploy_rule_created", ["name": name, "id": String(id)])
        case let .numberBound(number): return "✓ " + self("deploy_number_bound", ["number": PhoneNumber.display(number)])
        case let .stopped(error): return "✗ " + self("deploy_stopped", ["reason": voximplant(error)])
        case let .recorded(line): return line
        }
    }

    /// A job kind's name for people; a kind the catalog does not know shows as stored.
    func jobKind(_ kind: String) -> String {
        strings["job_kind_" + kind.replacingOccurrences(of: "-", with: "_")] ?? kind
    }

    /// A call's recording note (see `RecordingNote`), in this language.
    func recordingNote(_ stored: String) -> String {
        guard let note = RecordingNote(stored: stored) else { return stored }
        let refusal = self(note.withToken ? "recording_refused_token" : "recording_refused_no_token", ["status": String(note.status)])
        return refusal + " " + self("recording_fallback_" + note.fallback.rawValue)
    }
}
