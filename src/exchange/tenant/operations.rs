//! The multi-workload policy's operations (Exchange Online's M365DataAtRest names and
//! parameters), each declared once with its presentation.

use super::data;
use super::{SET_KEYS, SET_REFRESH, SET_SETTINGS};
use crate::exchange::operations::rewrap_wait;
use crate::operations::{Impact, Operation, OutputType, PropertyType, WaitFor};

const AREA: &str = super::super::operations::AREA;
const _: [&str; 3] = [SET_KEYS, SET_REFRESH, SET_SETTINGS];

pub fn operations() -> Vec<Operation> {
    vec![
        Operation::new("New-M365DataAtRestEncryptionPolicy", AREA, super::new_m365_policy)
            .synopsis("Creates a multi-workload data encryption policy over two customer keys.")
            .description("Checks, as the M365DataAtRestEncryption service principal (c066d759-24ae-40e7-a56f-027002b5d3e4), that each key exists, is enabled and allows wrapKey and unwrapKey, that the two keys are in two vaults with soft delete, and that the service holds get, wrapKey and unwrapKey on both (the same checks as New-CkDataEncryptionPolicy); then wraps a new policy key with each. The name cannot contain spaces. Many policies may exist; Set-CkM365DataAtRestEncryptionPolicyAssignment assigns one to the tenant. There is no purge for this kind of policy: Microsoft offers none (leaving Customer Key is an offboarding request to Microsoft, not a cmdlet).")
            .output("CustomerKey.M365DataAtRestEncryptionPolicy")
            .changes(Impact::Medium, "Multi-workload data encryption policy '{Name}'", "Create multi-workload data encryption policy")
            .example("New-CkM365DataAtRestEncryptionPolicy -Name 'M365-DEP' -AzureKeyIDs 'https://contoso-m365-weu.vault.azure.net/keys/m365-key', 'https://contoso-m365-neu.vault.azure.net/keys/m365-key' -Description 'Tenant data'", "Creates a policy over the newest versions of two keys."),
        Operation::new("Get-M365DataAtRestEncryptionPolicy", AREA, super::get_m365_policy)
            .synopsis("Gets multi-workload data encryption policies with their keys' health.")
            .description("Gets one policy by name, Guid or DataEncryptionPolicyID, or every one. KeyHealth says which key the M365DataAtRestEncryption service can use and why not; Assigned says whether it is the tenant's policy; RewrapState (Done, Rewrapping, Stopped) with ItemsDone of ItemsTotal says how far what it covers is under its current revision.")
            .output("CustomerKey.M365DataAtRestEncryptionPolicy")
            .example("Get-CkM365DataAtRestEncryptionPolicy | Format-Table Name, Enabled, Assigned, RewrapState", "Lists the policies."),
        Operation::new("Set-M365DataAtRestEncryptionPolicy", AREA, super::set_m365_policy)
            .synopsis("Refreshes, re-keys or changes a multi-workload data encryption policy.")
            .description("-Refresh (after a key roll) wraps a new policy key under the keys' newest enabled versions, a new revision with a new DataEncryptionPolicyID; while the policy is assigned, a background job rewraps what it covers. -AzureKeyIDs with -Replace moves the policy to other keys. -Name/-Description/-Enabled change settings; an assigned policy cannot be disabled (assign another first, as Microsoft says). There is no purge: Microsoft offers none for this kind of policy. Returns at once; with -Wait it shows the rewrap until RewrapState is Done.")
            .output("CustomerKey.M365DataAtRestEncryptionPolicy")
            .default_set(SET_SETTINGS)
            .changes(Impact::Medium, "Multi-workload data encryption policy '{Identity}'", "Change multi-workload data encryption policy")
            .action_when("Refresh", "Wrap a new policy key under the newest key versions")
            .action_when("Replace", "Replace the policy's keys")
            .wait_for(rewrap_wait("Get-M365DataAtRestEncryptionPolicy", "Rewrapping the tenant data under the multi-workload data encryption policy", "{RewrapState}: {ItemsDone} of {ItemsTotal} items"))
            .example("Set-CkM365DataAtRestEncryptionPolicy -Identity 'M365-DEP' -Refresh -Wait", "After Add-CkKeyVaultKey rolled a key: re-wraps under the new version and waits until the tenant data is under it."),
        Operation::new("Set-M365DataAtRestEncryptionPolicyAssignment", AREA, super::set_assignment)
            .synopsis("Assigns a multi-workload data encryption policy to the tenant.")
            .description("One policy is assigned at a time; assigning another replaces it. A background job moves every kind of tenant data (Teams chat messages, meeting recordings) and every user mailbox without a mailbox data encryption policy under the policy's current revision (Microsoft: up to 24 hours; here seconds); it resumes after a crash. A mailbox with its own policy keeps it. Returns at once; with -Wait it shows the job's progress until State is Assigned.")
            .output("CustomerKey.M365DataAtRestEncryptionPolicyAssignment")
            .changes(Impact::Medium, "Tenant", "Assign multi-workload data encryption policy '{DataEncryptionPolicy}'")
            .wait_for(WaitFor {
                poll: "Get-M365DataAtRestEncryptionPolicyAssignment",
                activity: "Assigning the multi-workload data encryption policy",
                state_property: "State",
                done_states: &[super::ASSIGNED],
                percent_property: "PercentComplete",
                status: "{State}: {ItemsDone} of {ItemsTotal} items",
                failed_property: "JobState",
                failed_states: &["Failed", "Cancelled"],
                error_property: "LastError",
                poll_parameters: &[],
            })
            .example("Set-CkM365DataAtRestEncryptionPolicyAssignment -DataEncryptionPolicy 'M365-DEP' -Wait", "Assigns the policy and waits until the tenant's data is under it."),
        Operation::new("Get-M365DataAtRestEncryptionPolicyAssignment", AREA, super::get_assignment)
            .synopsis("Shows which multi-workload data encryption policy is assigned to the tenant.")
            .description("DataEncryptionPolicy, the revision the data moves under (DataEncryptionPolicyID), WhenAssigned, and State: Assigning (the job is moving the covered data, after the assignment or a roll, ItemsDone of ItemsTotal), Assigned, or Stopped (JobState and LastError say why). Nothing when no policy is assigned.")
            .output("CustomerKey.M365DataAtRestEncryptionPolicyAssignment")
            .example("Get-CkM365DataAtRestEncryptionPolicyAssignment | Format-List", "Shows the assignment and its progress."),
        Operation::new("Add-M365DataItem", AREA, data::add_data_item)
            .synopsis("Stores an item of tenant data (a Teams chat message, a meeting recording), encrypted.")
            .description("A project extension that makes the multi-workload policy observable: the item is sealed with AES-256-GCM under its kind's content key, which is under the assigned policy's current revision (or the Microsoft-managed key while none is assigned).")
            .output("CustomerKey.M365DataItem")
            .changes(Impact::Medium, "Tenant data '{Workload}'", "Add item '{Subject}'")
            .example("Add-CkM365DataItem -Workload TeamsChat -Subject 'Project X' -Body 'Kick-off at 10'", "Stores a chat message."),
        Operation::new("Get-M365DataItem", AREA, data::get_data_item)
            .synopsis("Reads tenant data items, decrypted.")
            .description("A project extension: fails with PermissionDenied while the M365DataAtRestEncryption service can use neither customer key of the policy the data is under; DataEncryptionPolicyID is that policy's revision.")
            .output("CustomerKey.M365DataItem")
            .example("Get-CkM365DataItem -Workload TeamsChat", "Lists the chat messages."),
    ]
}

pub fn output_types() -> Vec<OutputType> {
    use PropertyType::{Array, Boolean, DateTime, Integer, String};
    vec![
        OutputType::new(
            "CustomerKey.M365DataAtRestEncryptionPolicy",
            &[
                ("Name", String),
                ("Enabled", Boolean),
                ("Assigned", Boolean),
                ("RewrapState", String),
                ("DataEncryptionPolicyID", String),
                ("AzureKeyIDs", Array),
            ],
        )
        .table_of_all(),
        OutputType::new(
            "CustomerKey.M365DataAtRestEncryptionPolicyAssignment",
            &[
                ("DataEncryptionPolicy", String),
                ("State", String),
                ("PercentComplete", Integer),
                ("DataEncryptionPolicyID", String),
                ("WhenAssigned", DateTime),
            ],
        )
        .table_of_all(),
        OutputType::new(
            "CustomerKey.M365DataItem",
            &[
                ("Workload", String),
                ("Received", DateTime),
                ("Subject", String),
                ("Size", Integer),
            ],
        )
        .table_of_all(),
    ]
}
