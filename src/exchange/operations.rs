//! The Exchange domain's operations (Exchange Online's names and parameters), each declared
//! once with its presentation, next to the handlers in this folder.

use super::policies::{SET_KEYS, SET_PURGE, SET_REFRESH, SET_SETTINGS};
use super::{mailboxes, moves, policies};
use crate::operations::{Impact, Operation, OutputType, PropertyType, WaitFor};

pub(crate) const AREA: &str = "Exchange";
const _: [&str; 4] = [SET_KEYS, SET_PURGE, SET_REFRESH, SET_SETTINGS];

pub fn operations() -> Vec<Operation> {
    vec![
        Operation::new("New-Mailbox", AREA, mailboxes::new_mailbox)
            .synopsis("Creates a user mailbox.")
            .description("Creates a mailbox with its own content key, under the Microsoft-managed key until a data encryption policy is assigned (-DataEncryptionPolicy, applied by a background job).")
            .output("CustomerKey.Mailbox")
            .changes(Impact::Medium, "Mailbox '{PrimarySmtpAddress}'", "Create mailbox")
            .example("New-CkMailbox -Name 'Ada Lovelace' -Alias ada -PrimarySmtpAddress ada@contoso.com -DataEncryptionPolicy 'EXO-DEP-1'", "Creates a mailbox encrypted under the policy once the job has run."),
        Operation::new("New-MailUser", AREA, mailboxes::new_mail_user)
            .synopsis("Creates a mail user: a user whose mailbox is not migrated yet.")
            .description("Creates a mail user whose items are held for migration. A policy given with -DataEncryptionPolicy is pre-assigned: New-CkMoveRequest encrypts the content under it as it moves.")
            .output("CustomerKey.Mailbox")
            .changes(Impact::Medium, "Mail user '{PrimarySmtpAddress}'", "Create mail user")
            .example("New-CkMailUser -Name 'Bob' -Alias bob -PrimarySmtpAddress bob@contoso.com -DataEncryptionPolicy 'EXO-DEP-1'", "Pre-assigns the policy before migration."),
        Operation::new("Get-Mailbox", AREA, mailboxes::get_mailbox)
            .synopsis("Gets mailboxes and mail users with their assigned data encryption policy.")
            .description("Gets one mailbox by name, alias, SMTP address or GUID, or every one. DataEncryptionPolicy is the assigned policy (empty: the Microsoft-managed key).")
            .output("CustomerKey.Mailbox")
            .paged()
            .example("Get-CkMailbox -Identity ada@contoso.com | Format-List Name, DataEncryptionPolicy", "Shows which policy a mailbox is assigned."),
        Operation::new("Set-Mailbox", AREA, mailboxes::set_mailbox)
            .synopsis("Assigns a data encryption policy to a mailbox, or unassigns it.")
            .description("Returns at once; a background job re-encrypts the mailbox, and Get-CkMailboxStatistics shows EncryptionState Pending or Encrypting until it is done. Without -DataEncryptionPolicy (or with $null) the mailbox goes back to the Microsoft-managed key.")
            .changes(Impact::Medium, "Mailbox '{Identity}'", "Assign data encryption policy '{DataEncryptionPolicy}'")
            .example("Set-CkMailbox -Identity ada@contoso.com -DataEncryptionPolicy 'EXO-DEP-1'", "Assigns the policy."),
        Operation::new("Set-MailUser", AREA, mailboxes::set_mail_user)
            .synopsis("Pre-assigns a data encryption policy to a mail user, or unassigns it.")
            .description("The policy applies when the mail user's mailbox is migrated with New-CkMoveRequest.")
            .changes(Impact::Medium, "Mail user '{Identity}'", "Pre-assign data encryption policy '{DataEncryptionPolicy}'")
            .example("Set-CkMailUser -Identity bob@contoso.com -DataEncryptionPolicy 'EXO-DEP-1'", "Pre-assigns the policy."),
        Operation::new("Get-MailboxStatistics", AREA, mailboxes::get_mailbox_statistics)
            .synopsis("Shows a mailbox's items and encryption state.")
            .description("DisplayName, ItemCount, TotalItemSize, IsEncrypted, DataEncryptionPolicyID (the policy revision the mailbox's key is under, its mailbox policy's or, with none, the tenant's multi-workload policy's; Get-CkDataEncryptionPolicy or Get-CkM365DataAtRestEncryptionPolicy resolves it) and EncryptionState: Pending, Encrypting, Encrypted, Unencrypted, OneKeyAvailable, Unreadable or Purged, with each key's health and the availability key's uses.")
            .output("CustomerKey.MailboxStatistics")
            .batched()
            .example("Get-CkMailbox | Get-CkMailboxStatistics | Format-Table DisplayName, IsEncrypted, EncryptionState, DataEncryptionPolicyID", "Shows the encryption state of every mailbox."),
        Operation::new("Add-MailboxItem", AREA, mailboxes::add_mailbox_item)
            .synopsis("Delivers an item to a mailbox, encrypted under its content key.")
            .description("A project extension that makes encryption observable: the item is sealed with AES-256-GCM under the mailbox's content key, which needs the policy's keys.")
            .output("CustomerKey.MailboxItem")
            .changes(Impact::Medium, "Mailbox '{Identity}'", "Add item '{Subject}'")
            .example("Add-CkMailboxItem -Identity ada@contoso.com -Subject 'Hello' -Body 'Q3 figures'", "Adds an item."),
        Operation::new("Get-MailboxItem", AREA, mailboxes::get_mailbox_item)
            .synopsis("Reads a mailbox's items, decrypted.")
            .description("A project extension: fails with PermissionDenied while Exchange Online can use neither customer key, and says so when the data was purged.")
            .output("CustomerKey.MailboxItem")
            .example("Get-CkMailboxItem -Identity ada@contoso.com", "Lists the items."),
        Operation::new("New-MoveRequest", AREA, moves::new_move_request)
            .synopsis("Migrates a mail user into a mailbox, or moves a mailbox.")
            .description("A mail user becomes a mailbox and its content is encrypted under the pre-assigned policy as it moves; a mailbox is re-encrypted under its assigned policy now. The move is a background job: the cmdlet returns at once with Status Queued, as Exchange Online's does; Get-CkMoveRequestStatistics shows its progress, and -Wait shows it until the move is Completed, then emits those statistics (a move whose job failed ends the wait with an error carrying LastFailure).")
            .output("CustomerKey.MoveRequest")
            .changes(Impact::Medium, "Mailbox '{Identity}'", "Move mailbox")
            .wait_for(WaitFor {
                poll: "Get-MoveRequestStatistics",
                activity: "Moving the mailbox",
                state_property: "Status",
                done_states: &["Completed"],
                percent_property: "PercentComplete",
                status: "{DisplayName}: {Status}, {PercentComplete}% moved",
                failed_property: "Status",
                failed_states: &["Failed"],
                error_property: "LastFailure",
                // The GUID: unique, where a name given as -Identity need not be.
                poll_parameters: &[("Identity", "ExchangeGuid")],
            })
            .example("New-CkMoveRequest -Identity bob@contoso.com", "Migrates the mail user.")
            .example("New-CkMoveRequest -Identity bob@contoso.com -Wait", "Migrates the mail user, showing the move's progress until it is Completed, then shows its statistics."),
        Operation::new("Get-MoveRequest", AREA, moves::get_move_request)
            .synopsis("Gets move requests and their status.")
            .description("Status: Queued, InProgress, Completed or Failed.")
            .output("CustomerKey.MoveRequest")
            .example("Get-CkMoveRequest", "Lists the move requests."),
        Operation::new("Get-MoveRequestStatistics", AREA, moves::get_move_request_statistics)
            .synopsis("Shows a move request's progress.")
            .description("Status (Queued, InProgress, Completed or Failed), PercentComplete, BytesTransferred and LastFailure (the background job's last error) of the mailbox's move request.")
            .output("CustomerKey.MoveRequestStatistics")
            .example("Get-CkMoveRequestStatistics -Identity bob@contoso.com", "Shows the progress."),
        Operation::new("New-DataEncryptionPolicy", AREA, policies::new_policy)
            .synopsis("Creates a data encryption policy over two customer keys.")
            .description("Checks, as the Exchange Online service principal, that each key exists, is enabled and allows wrapKey and unwrapKey, that the two keys are in two vaults with soft delete, and that the service holds get, wrapKey and unwrapKey on both; then wraps a new policy key with each. A vault without purge protection is a warning. At most 50 policies.")
            .output("CustomerKey.DataEncryptionPolicy")
            .changes(Impact::Medium, "Data encryption policy '{Name}'", "Create data encryption policy")
            .example("New-CkDataEncryptionPolicy -Name 'EXO-DEP-1' -AzureKeyIDs 'https://contoso-weu.vault.azure.net/keys/exo-key', 'https://contoso-neu.vault.azure.net/keys/exo-key'", "Creates a policy over the newest versions of two keys."),
        Operation::new("Get-DataEncryptionPolicy", AREA, policies::get_policy)
            .synopsis("Gets data encryption policies with their keys' health.")
            .description("Gets one policy by name, Guid or any DataEncryptionPolicyID a mailbox ever reported, or every policy; KeyHealth says which key Exchange Online can use and why not. RewrapState says whether the policy's mailboxes are under its current revision (Done), are being moved there by the background job after -Refresh, -Replace or an assignment (Rewrapping, with PercentComplete and MailboxesDone of MailboxesTotal), or wait on a job that failed or was cancelled (Stopped); JobState and LastError are that job's.")
            .output("CustomerKey.DataEncryptionPolicy")
            .example("Get-CkDataEncryptionPolicy -Identity (Get-CkMailboxStatistics ada@contoso.com).DataEncryptionPolicyID", "Finds the policy of a mailbox.")
            .example("Get-CkDataEncryptionPolicy -Identity 'EXO-DEP-1' | Format-List RewrapState, PercentComplete, MailboxesDone, MailboxesTotal, JobState, LastError", "Shows how far the rewrap after a refresh is."),
        Operation::new("Set-DataEncryptionPolicy", AREA, policies::set_policy)
            .synopsis("Refreshes, changes, re-keys or purges a data encryption policy.")
            .description("-Refresh (after a key roll) wraps a new policy key under the keys' newest enabled versions, a new revision with a new DataEncryptionPolicyID; a background job rewraps each mailbox's content key. -Name/-Description/-Enabled change settings. -AzureKeyIDs with -Replace moves the policy to other keys. -PermanentDataPurgeRequested destroys the policy and its mailboxes' content for good, only once the service principal has lost wrapKey and unwrapKey on both vaults. The purge asks for confirmation, a question of its own, unless -Force is given; -WhatIf shows every change without making it. Returns at once, as Exchange Online's cmdlet does; with -Wait it shows the rewrap (MailboxesDone of MailboxesTotal) until RewrapState is Done, then emits the policy as Get-CkDataEncryptionPolicy shows it, and ends with an error when the rewrap's job failed or was cancelled.")
            .output("CustomerKey.DataEncryptionPolicy")
            .default_set(SET_SETTINGS)
            // Medium, so that -Refresh in a script does not stop at a prompt; the purge, which
            // cannot be undone, asks its own question (ShouldContinue) unless -Force is given.
            .changes(Impact::Medium, "Data encryption policy '{Identity}'", "Change data encryption policy")
            .action_when("Refresh", "Wrap a new policy key under the newest key versions")
            .action_when("Replace", "Replace the policy's keys")
            .action_when("PermanentDataPurgeRequested", "Permanently purge the policy and its mailboxes' data (cannot be undone)")
            .continue_when("PermanentDataPurgeRequested", "Purge every mailbox's data under data encryption policy '{Identity}' for good? This cannot be undone.")
            .wait_for(rewrap_wait("Get-DataEncryptionPolicy", "Rewrapping the mailboxes' content keys under the data encryption policy", "{RewrapState}: {MailboxesDone} of {MailboxesTotal} mailboxes"))
            .example("Set-CkDataEncryptionPolicy -Identity 'EXO-DEP-1' -Refresh", "After Add-CkKeyVaultKey rolled a key: re-wraps under the new version.")
            .example("Set-CkDataEncryptionPolicy -Identity 'EXO-DEP-1' -Refresh -Wait", "The same, showing the rewrap's progress (mailboxes done of total) until every mailbox is under the new DataEncryptionPolicyID, then shows the policy.")
            .example("Set-CkDataEncryptionPolicy -Identity 'EXO-DEP-1' -PermanentDataPurgeRequested -PermanentDataPurgeReason 'Leaving the service' -PermanentDataPurgeContact 'ciso@contoso.com' -Force", "Purges the policy's data (parameter set PermanentDataPurge)."),
    ]
}

/// -Wait of Set-DataEncryptionPolicy and Set-M365DataAtRestEncryptionPolicy: the rewrap their
/// -Refresh or -Replace starts, shown by `poll` until RewrapState is Done.
pub(crate) fn rewrap_wait(
    poll: &'static str,
    activity: &'static str,
    status: &'static str,
) -> WaitFor {
    WaitFor {
        poll,
        activity,
        state_property: "RewrapState",
        done_states: &[policies::REWRAP_DONE],
        percent_property: "PercentComplete",
        status,
        failed_property: "JobState",
        failed_states: &["Failed", "Cancelled"],
        error_property: "LastError",
        // The Guid: the policy changed, even when -Name renamed it.
        poll_parameters: &[("Identity", "Guid")],
    }
}

/// What the Exchange Online cmdlets return, and how each is shown.
pub fn output_types() -> Vec<OutputType> {
    use PropertyType::{Array, Boolean, DateTime, Integer, String};
    vec![
        OutputType::new(
            "CustomerKey.DataEncryptionPolicy",
            &[
                ("Name", String),
                ("Enabled", Boolean),
                ("MailboxCount", Integer),
                ("DataEncryptionPolicyID", String),
                ("AzureKeyIDs", Array),
            ],
        )
        .table_of_all(),
        OutputType::new(
            "CustomerKey.Mailbox",
            &[
                ("Name", String),
                ("Alias", String),
                ("PrimarySmtpAddress", String),
                ("RecipientTypeDetails", String),
                ("DataEncryptionPolicy", String),
            ],
        )
        .table_of_all(),
        OutputType::new(
            "CustomerKey.MailboxStatistics",
            &[
                ("DisplayName", String),
                ("ItemCount", Integer),
                ("TotalItemSize", String),
                ("IsEncrypted", Boolean),
                ("EncryptionState", String),
                ("DataEncryptionPolicyID", String),
            ],
        )
        .table_of_all(),
        OutputType::new(
            "CustomerKey.MailboxItem",
            &[
                ("Mailbox", String),
                ("Received", DateTime),
                ("Subject", String),
                ("Size", Integer),
            ],
        )
        .table_of_all(),
        OutputType::new(
            "CustomerKey.MoveRequest",
            &[
                ("DisplayName", String),
                ("Alias", String),
                ("Status", String),
            ],
        )
        .table_of_all(),
        OutputType::new(
            "CustomerKey.MoveRequestStatistics",
            &[
                ("DisplayName", String),
                ("Status", String),
                ("PercentComplete", Integer),
                ("BytesTransferred", Integer),
            ],
        )
        .table_of_all(),
    ]
}
