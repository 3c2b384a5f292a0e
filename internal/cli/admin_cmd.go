package cli

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keygate/keygate/internal/admin"
	"github.com/keygate/keygate/internal/config"
	"github.com/keygate/keygate/internal/secret"
)

// adminTokenPrefix starts every token keygate makes, so a leaked one is recognisable (secret
// scanners, log scans) as a keygate admin token.
const adminTokenPrefix = "kgadm_"

func newAdminCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Admin API credentials",
		Example: `  keygate admin token create --name ci --role gateway_admin
  keygate admin token create --name acme-ops --role tenant_admin --tenant acme`,
	}
	token := &cobra.Command{
		Use:     "token",
		Short:   "Admin API bearer tokens",
		Example: `  keygate admin token create --name ci --role gateway_admin`,
	}
	token.AddCommand(newAdminTokenCreateCmd())
	cmd.AddCommand(token)
	return cmd
}

// AdminTokenCreated is `keygate admin token create -o json`.
type AdminTokenCreated struct {
	Token  string            `json:"token"`
	Config config.AdminToken `json:"config"`
}

func newAdminTokenCreateCmd() *cobra.Command {
	var name, role, tenant, output string
	cmd := &cobra.Command{
		Use:   "create --name NAME --role ROLE [--tenant TENANT]",
		Short: "Make an admin API token: prints it once, and the config line holding only its hash",
		Long: `create makes a random bearer token for the admin API and prints it once, with the line to
add under admin.tokens in the config: keygate stores and compares only the token's SHA-256.
Keep the token in your secret manager; it cannot be shown again. Roles: gateway_admin,
tenant_admin and tenant_developer (the tenant roles need --tenant); docs/admin.md.`,
		Example: `  keygate admin token create --name ci --role gateway_admin
  keygate admin token create --name acme-dev --role tenant_developer --tenant acme -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return err
			}
			tok := secret.FromString(adminTokenPrefix + base64.RawURLEncoding.EncodeToString(b))
			line := config.AdminToken{Name: name, Role: role, Tenant: tenant, Hash: admin.HashToken(tok)}
			if err := checkAdminToken(line); err != nil {
				return err
			}
			if output == "json" {
				return writeJSONOut(cmd.OutOrStdout(), AdminTokenCreated{Token: string(tok.Reveal()), Config: line})
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "token (shown once, keep it in your secret manager):\n  %s\n\n", tok.Reveal())
			fmt.Fprintf(out, "add under admin.tokens in the config:\n  - name: %s\n    role: %s\n", name, role)
			if tenant != "" {
				fmt.Fprintf(out, "    tenant: %s\n", tenant)
			}
			fmt.Fprintf(out, "    hash: %s\n\nthen: curl -H \"Authorization: Bearer $TOKEN\" http://ADMIN/v1/...\n", line.Hash)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "who the token is for, as the audit log names them (required)")
	fl.StringVar(&role, "role", "", "gateway_admin, tenant_admin or tenant_developer (required)")
	fl.StringVar(&tenant, "tenant", "", "the tenant of a tenant role")
	addOutputFlag(cmd, &output)
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("role")
	_ = cmd.RegisterFlagCompletionFunc("role", cobra.FixedCompletions([]string{"gateway_admin", "tenant_admin", "tenant_developer"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// checkAdminToken applies the config's own rules to the token line (config.Validate), so what
// create prints is what serve accepts.
func checkAdminToken(t config.AdminToken) error {
	if strings.TrimSpace(t.Name) == "" || strings.ContainsAny(t.Name, "\r\n\t") {
		return errors.New("--name: required, one line")
	}
	f := config.File{Admin: config.Admin{Tokens: []config.AdminToken{t}}}
	var msgs []string
	for _, e := range config.Flatten(f.Validate()) {
		var fe *config.FieldError
		if errors.As(e, &fe) && strings.HasPrefix(fe.Path, "admin.tokens[0].") {
			flag := "--" + strings.TrimPrefix(fe.Path, "admin.tokens[0].")
			msgs = append(msgs, flag+": "+fe.Msg)
		}
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}
