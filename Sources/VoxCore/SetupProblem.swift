/// What is wrong with what a person entered in Setup, named so that every language can say
/// it: `key` is the catalog entry, `values` fill its `{placeholders}`. The English lives here
/// (`SetupProblem.english`), once, for the command line, the logs and the English catalog,
/// which takes these entries as they are; the Russian catalog has the same keys.
public enum SetupProblem: Equatable, Sendable, CustomStringConvertible {
    case accountNameMissing
    case accountIDNotANumber
    case accountCredentialsMissing
    case accountAPIKeyMissing
    case accountNeedsCredentials
    case accountAlreadyConnected(voximplantAccountID: String)
    case accountInUse(applications: String)
    case serviceAccountOfAnotherAccount(file: String, given: String)
    case savedServiceAccountOfAnotherAccount(saved: String, given: String)
    case serviceAccountTooLong
    case serviceAccountNotJSON
    case serviceAccountFieldMissing(String)
    case serviceAccountKeyUnreadable
    case serviceAccountKeyNotRSA
    case serviceAccountKeyTooShort(bits: Int, minimum: Int)
    case keyNameMissing
    case keyAPIKeyMissing
    case keyInUse
    case webhookSecretTooShort(minimum: Int)
    case webhookNeedsHTTPS(publicURL: String)
    case workspaceWebhookNotOurs(webhookID: String)
    case ownersDiffer
    case applicationNameMissing
    case phoneNumberMissing
    case agentIDMissing
    case unknownAgent(agentID: String)

    public var key: String {
        switch self {
        case .accountNameMissing: "setup_account_name_missing"
        case .accountIDNotANumber: "setup_account_id_not_a_number"
        case .accountCredentialsMissing: "setup_account_credentials_missing"
        case .accountAPIKeyMissing: "setup_account_api_key_missing"
        case .accountNeedsCredentials: "setup_account_needs_credentials"
        case .accountAlreadyConnected: "setup_account_already_connected"
        case .accountInUse: "setup_account_in_use"
        case .serviceAccountOfAnotherAccount: "setup_service_account_of_another_account"
        case .savedServiceAccountOfAnotherAccount: "setup_saved_service_account_of_another_account"
        case .serviceAccountTooLong: "setup_service_account_too_long"
        case .serviceAccountNotJSON: "setup_service_account_not_json"
        case .serviceAccountFieldMissing: "setup_service_account_field_missing"
        case .serviceAccountKeyUnreadable: "setup_service_account_key_unreadable"
        case .serviceAccountKeyNotRSA: "setup_service_account_key_not_rsa"
        case .serviceAccountKeyTooShort: "setup_service_account_key_too_short"
        case .keyNameMissing: "setup_key_name_missing"
        case .keyAPIKeyMissing: "setup_key_api_key_missing"
        case .keyInUse: "setup_key_in_use"
        case .webhookSecretTooShort: "setup_webhook_secret_too_short"
        case .webhookNeedsHTTPS: "setup_webhook_needs_https"
        case .workspaceWebhookNotOurs: "setup_workspace_webhook_not_ours"
        case .ownersDiffer: "setup_owners_differ"
        case .applicationNameMissing: "setup_application_name_missing"
        case .phoneNumberMissing: "setup_phone_number_missing"
        case .agentIDMissing: "setup_agent_id_missing"
        case .unknownAgent: "setup_unknown_agent"
        }
    }

    public var values: [String: String] {
        switch self {
        case let .accountAlreadyConnected(id): ["account": id]
        case let .accountInUse(applications): ["applications": applications]
        case let .serviceAccountOfAnotherAccount(file, given): ["file": file, "given": given]
        case let .savedServiceAccountOfAnotherAccount(saved, given): ["saved": saved, "given": given]
        case let .serviceAccountFieldMissing(field): ["field": field]
        case let .serviceAccountKeyTooShort(bits, minimum): ["bits": String(bits), "minimum": String(minimum)]
        case let .webhookSecretTooShort(minimum): ["minimum": String(minimum)]
        case let .webhookNeedsHTTPS(url): ["url": url]
        case let .workspaceWebhookNotOurs(id): ["webhook": id]
        case let .unknownAgent(id): ["agent": id]
        default: [:]
        }
    }

    public var description: String { SetupProblem.fill(SetupProblem.english[key] ?? key, values) }

    static func fill(_ text: String, _ values: [String: String]) -> String {
        values.reduce(text) { $0.replacingOccurrences(of: "{\($1.key)}", with: $1.value) }
    }

    public static let english: [String: String] = [
        "setup_account_already_connected": "Voximplant account {account} is already connected here (by you or another user); each account can be connected once.",
        "setup_account_api_key_missing": "Paste the account's API key.",
        "setup_account_credentials_missing": "Paste the account's service account file (or its API key).",
        "setup_account_id_not_a_number": "The Voximplant account id is a number (see the control panel).",
        "setup_account_in_use": "Applications use this account ({applications}). Disable it instead.",
        "setup_account_name_missing": "Give the account a name.",
        "setup_account_needs_credentials": "Keep a service account file or an API key: Voximplant needs one of them.",
        "setup_agent_id_missing": "Enter the ElevenLabs agent id.",
        "setup_application_name_missing": "Give the application a name.",
        "setup_key_api_key_missing": "Paste the ElevenLabs API key.",
        "setup_key_in_use": "Applications use this key.",
        "setup_key_name_missing": "Give the key a name.",
        "setup_owners_differ": "The Voximplant account and the ElevenLabs key belong to different users; use a key of the account's owner.",
        "setup_phone_number_missing": "Choose a phone number.",
        "setup_saved_service_account_of_another_account": "The saved service account file is for account {saved}: paste the file of account {given} too.",
        "setup_service_account_field_missing": "The service account file has no usable “{field}”.",
        "setup_service_account_key_not_rsa": "The service account file's private key cannot be used: it is not an RSA key.",
        "setup_service_account_key_too_short": "The service account file's private key cannot be used: the RSA key has {bits} bits; at least {minimum} are needed.",
        "setup_service_account_key_unreadable": "The service account file's private key cannot be used: it is not a PEM RSA key.",
        "setup_service_account_not_json": "The service account file is not JSON: paste the whole file the Voximplant control panel downloaded.",
        "setup_service_account_of_another_account": "The service account file is for Voximplant account {file}, not {given}.",
        "setup_service_account_too_long": "That is too long for a service account file.",
        "setup_unknown_agent": "ElevenLabs has no agent “{agent}” for this key.",
        "setup_webhook_needs_https": "ElevenLabs calls webhooks over HTTPS only, and this server's public URL is {url}: set VOXFCGI_PUBLIC_URL to its https:// address first.",
        "setup_webhook_secret_too_short": "A webhook secret has at least {minimum} characters: paste the one ElevenLabs shows when the webhook is created.",
        "setup_workspace_webhook_not_ours": "This workspace already sends its post-call webhooks to webhook {webhook}, which this server did not create. Setting up replaces it and those deliveries stop: tick “replace the workspace's current one” to go ahead, or keep it and paste its secret here.",
    ]
}
