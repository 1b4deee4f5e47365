import FastCGI
import VoxCore

extension Catalog {
    /// An error's message in this language, for the errors a person causes and fixes
    /// (passwords, links, roles, codes); any other keeps its own English description, which
    /// names what an upstream or the data said and is not ours to translate.
    func message(_ error: any HTTPResponseError) -> String {
        switch error {
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
}
