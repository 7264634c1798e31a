package catalog

// TenantSuspendedType is emitted when a tenant is suspended and may no longer send,
// typically by billing settle when the prepaid balance runs out. Integrators subscribe
// to warn their users before the sends start failing.
const TenantSuspendedType = "io.catalyst.tenant.suspended"

// Suspension reasons, the values of TenantSuspended.Reason.
const (
	SuspendBalanceExhausted = "balance_exhausted" // prepaid balance used up
	SuspendFraud            = "fraud"             // the firewall or an operator saw abuse
	SuspendOperator         = "operator"          // an operator's decision, e.g. unpaid invoice
)

// TenantSuspended is the data of io.catalyst.tenant.suspended.
type TenantSuspended struct {
	TenantID string `json:"tenant_id" jsonschema:"minLength=1" jsonschema_description:"The tenant; equal to the tenantid extension."`
	Reason   string `json:"reason" jsonschema:"enum=balance_exhausted,enum=fraud,enum=operator" jsonschema_description:"balance_exhausted: the prepaid balance is used up; fraud: abuse was detected; operator: an operator's decision."`
	Detail   string `json:"detail,omitempty" jsonschema_description:"More about the reason, for humans."`
}

// TenantReinstatedType is emitted when a suspended tenant may send again: a top-up
// lifted its balance above the suspend level.
const TenantReinstatedType = "io.catalyst.tenant.reinstated"

// TenantReinstated is the data of io.catalyst.tenant.reinstated.
type TenantReinstated struct {
	TenantID string `json:"tenant_id" jsonschema:"minLength=1" jsonschema_description:"The tenant; equal to the tenantid extension."`
	Detail   string `json:"detail,omitempty" jsonschema_description:"Why, for humans."`
}
