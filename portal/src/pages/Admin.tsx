// Administration, by role (三员分立): the node; departments and accounts
// (admin); roles, unlocking and disabling (security admin); everything
// readable by the auditor; and application credentials — API keys — for
// any department role, whose secret is shown once and never again.

import { useState, type FormEvent, type ReactNode } from "react";
import { api, del, get, post } from "../api";
import { Async, ErrorNotice, FieldMessage, FormError, useAction, useLoad } from "../components/Async";
import { useT } from "../i18n";
import { DepartmentOptions, useDepartmentName, useSession } from "../session";
import type { Department, Role, User } from "../types";

const ROLES: Role[] = ["admin", "security_admin", "auditor", "authority", "provider", "consumer", "analyst"];
const KEY_ROLES: Role[] = ["provider", "consumer", "analyst"];

interface ApiKey {
  id: string;
  name: string;
  department_id: string;
  roles: Role[];
  prefix: string;
  expires_at: string | null;
  revoked_at: string | null;
  allowed_networks: string[];
  created_by: string;
}

export function Admin() {
  const { t } = useT();
  const { has } = useSession();
  const tabs = [
    { id: "node", label: t("admin.node"), show: true },
    { id: "departments", label: t("admin.departments"), show: has("admin") || has("auditor") || has("security_admin") },
    { id: "users", label: t("admin.users"), show: has("admin") || has("security_admin") || has("auditor") },
    // The administrator holds no department role, so keys are not theirs to see.
    { id: "keys", label: t("admin.keys"), show: !has("admin") },
  ].filter((tab) => tab.show);
  const [tab, setTab] = useState(tabs[0].id);
  return (
    <section>
      <h1>{t("admin.title")}</h1>
      <div className="tabs">
        {tabs.map((item) => (
          <button key={item.id} type="button" aria-pressed={tab === item.id} onClick={() => setTab(item.id)}>
            {item.label}
          </button>
        ))}
      </div>
      {tab === "node" ? <NodePanel /> : null}
      {tab === "departments" ? <Departments /> : null}
      {tab === "users" ? <Users /> : null}
      {tab === "keys" ? <ApiKeys /> : null}
    </section>
  );
}

/** Application credentials alone, for department roles. */
export function Credentials() {
  const { t } = useT();
  return (
    <section>
      <h1>{t("admin.keys")}</h1>
      <ApiKeys />
    </section>
  );
}

function NodePanel() {
  const { t } = useT();
  const { node } = useSession();
  if (!node) return null;
  return (
    <dl className="attributes">
      <dt>{t("admin.nodeId")}</dt>
      <dd>{node.id}</dd>
      <dt>{t("admin.nodeName")}</dt>
      <dd>{node.name}</dd>
      <dt>{t("admin.level")}</dt>
      <dd>{node.level}</dd>
      <dt>{t("admin.region")}</dt>
      <dd>{node.region}</dd>
      <dt>{t("admin.parent")}</dt>
      <dd>{node.parent ?? t("admin.none")}</dd>
    </dl>
  );
}

/** A form submission through `useAction`. */
function useSubmit<T>(send: () => Promise<T>, onDone: (result: T) => void) {
  const action = useAction();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void action.run(send, onDone);
  };
  return { ...action, submit };
}

function Departments() {
  const { t } = useT();
  const { has, refreshDepartments } = useSession();
  const list = useLoad(() => get<Department[]>("/departments"), []);
  const [form, setForm] = useState({ name: "", uscc: "", region: "" });
  const create = useSubmit(
    () => post<{ department: Department; warnings: string[] }>("/departments", form),
    () => {
      setForm({ name: "", uscc: "", region: "" });
      list.reload();
      void refreshDepartments();
    },
  );
  return (
    <>
      <Async loaded={list}>
        {(departments) => (
          <table>
            <thead>
              <tr>
                <th scope="col">{t("admin.name")}</th>
                <th scope="col">{t("admin.uscc")}</th>
                <th scope="col">{t("admin.region")}</th>
              </tr>
            </thead>
            <tbody>
              {departments.map((department) => (
                <tr key={department.id}>
                  <th scope="row">{department.name}</th>
                  <td>{department.uscc}</td>
                  <td>{department.region}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Async>
      {has("admin") ? (
        <form className="panel" onSubmit={create.submit}>
          <h2>{t("admin.create")}</h2>
          <div className="row">
            {(["name", "uscc", "region"] as const).map((field) => (
              <label key={field}>
                {t(field === "name" ? "admin.name" : field === "uscc" ? "admin.uscc" : "admin.region")}
                <input name={field} value={form[field]} onChange={(e) => setForm({ ...form, [field]: e.target.value })} />
                <FieldMessage error={create.error} field={field} />
              </label>
            ))}
          </div>
          <FormError error={create.error} fields={["name", "uscc", "region"]} />
          <button type="submit" className="primary" disabled={create.busy}>
            {t("admin.create")}
          </button>
        </form>
      ) : null}
    </>
  );
}

function RoleChoice({ value, onChange, roles, legend }: { value: Role[]; onChange: (roles: Role[]) => void; roles: Role[]; legend: ReactNode }) {
  const { label } = useT();
  return (
    <fieldset className="roles">
      <legend>{legend}</legend>
      {roles.map((role) => (
        <label key={role} className="check">
          <input
            type="checkbox"
            checked={value.includes(role)}
            onChange={(e) => onChange(e.target.checked ? [...value, role] : value.filter((r) => r !== role))}
          />
          {label(role)}
        </label>
      ))}
    </fieldset>
  );
}

function Users() {
  const { t, label } = useT();
  const { has } = useSession();
  const department = useDepartmentName();
  const list = useLoad(() => get<User[]>("/users"), []);
  const empty = { username: "", display_name: "", department_id: "", password: "", roles: [] as Role[] };
  const [form, setForm] = useState(empty);
  const create = useSubmit(
    () => post<User>("/users", form),
    () => {
      setForm(empty);
      list.reload();
    },
  );
  return (
    <>
      <Async loaded={list}>
        {(users) => (
          <table className="users">
            <thead>
              <tr>
                <th scope="col">{t("admin.username")}</th>
                <th scope="col">{t("admin.displayName")}</th>
                <th scope="col">{t("admin.department")}</th>
                <th scope="col">{t("admin.roles")}</th>
                <th scope="col">{t("common.status")}</th>
              </tr>
            </thead>
            <tbody>
              {users.map((user) => (
                <tr key={user.id} data-user={user.username}>
                  <th scope="row">{user.username}</th>
                  <td>{user.display_name}</td>
                  <td>{department(user.department_id)}</td>
                  <td>{has("security_admin") ? <RoleEditor user={user} onSaved={list.reload} /> : user.roles.map(label).join("、")}</td>
                  <td>
                    <UserState user={user} onChanged={list.reload} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Async>
      {has("admin") ? (
        <form className="panel" onSubmit={create.submit}>
          <h2>{t("admin.create")}</h2>
          <div className="row">
            <label>
              {t("admin.username")}
              <input name="username" value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} />
              <FieldMessage error={create.error} field="username" />
            </label>
            <label>
              {t("admin.displayName")}
              <input name="display_name" value={form.display_name} onChange={(e) => setForm({ ...form, display_name: e.target.value })} />
              <FieldMessage error={create.error} field="display_name" />
            </label>
            <label>
              {t("admin.department")}
              <select name="department_id" value={form.department_id} onChange={(e) => setForm({ ...form, department_id: e.target.value })}>
                <option value="">—</option>
                <DepartmentOptions />
              </select>
              <FieldMessage error={create.error} field="department_id" />
            </label>
            <label>
              {t("admin.password")}
              <input name="password" type="password" autoComplete="new-password" value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} />
              <FieldMessage error={create.error} field="password" />
            </label>
          </div>
          <RoleChoice legend={t("admin.roles")} roles={ROLES} value={form.roles} onChange={(roles) => setForm({ ...form, roles })} />
          <FieldMessage error={create.error} field="roles" />
          <FormError error={create.error} fields={["username", "display_name", "department_id", "password", "roles"]} />
          <button type="submit" className="primary" disabled={create.busy}>
            {t("admin.create")}
          </button>
        </form>
      ) : null}
    </>
  );
}

function RoleEditor({ user, onSaved }: { user: User; onSaved: () => void }) {
  const { t } = useT();
  const [roles, setRoles] = useState(user.roles);
  const save = useSubmit(() => api<User>("PUT", `/users/${user.id}/roles`, { roles }), onSaved);
  return (
    <form onSubmit={save.submit} className="role-editor">
      <RoleChoice legend={<span className="visually-hidden">{t("admin.roles")}</span>} roles={ROLES} value={roles} onChange={setRoles} />
      <FieldMessage error={save.error} field="roles" />
      <FormError error={save.error} fields={["roles"]} />
      <button type="submit" disabled={save.busy}>
        {t("admin.saveRoles")}
      </button>
    </form>
  );
}

function UserState({ user, onChanged }: { user: User; onChanged: () => void }) {
  const { t } = useT();
  const { has } = useSession();
  const [error, setError] = useState<Error>();
  const may = has("admin") || has("security_admin");
  const run = (send: () => Promise<unknown>) => send().then(onChanged, setError);
  const locked = user.locked_until && new Date(user.locked_until) > new Date();
  return (
    <>
      {user.disabled ? <span className="tag warn">{t("admin.disabled")}</span> : null}
      {locked ? <span className="tag warn">{t("admin.locked")}</span> : null}
      {may && locked ? (
        <button type="button" className="link" onClick={() => run(() => post(`/users/${user.id}/unlock`))}>
          {t("admin.unlock")}
        </button>
      ) : null}
      {may ? (
        <button type="button" className="link" onClick={() => run(() => api("PUT", `/users/${user.id}/disabled`, { disabled: !user.disabled }))}>
          {user.disabled ? t("admin.enable") : t("admin.disable")}
        </button>
      ) : null}
      {error ? <ErrorNotice error={error} /> : null}
    </>
  );
}

function ApiKeys() {
  const { t, label } = useT();
  const { me, has } = useSession();
  // The security administrator and the auditor look after every department's keys.
  const anyDepartment = has("security_admin") || has("auditor");
  const [department, setDepartment] = useState(me?.department_id ?? "");
  const list = useLoad(
    () => get<ApiKey[]>("/api-keys", anyDepartment ? { department_id: department } : undefined),
    [me?.actor, department],
  );
  const held = has("security_admin") ? KEY_ROLES : KEY_ROLES.filter(has);
  const [form, setForm] = useState({ name: "", roles: held.slice(0, 1), days: "365", networks: "" });
  const [secret, setSecret] = useState<string>();
  const create = useSubmit(
    () =>
      post<{ key: ApiKey; secret: string }>("/api-keys", {
        name: form.name.trim(),
        roles: form.roles,
        expires_in_days: Number(form.days),
        allowed_networks: form.networks.split(/\s+/).filter(Boolean),
        ...(anyDepartment ? { department_id: department } : {}),
      }),
    (created) => {
      setSecret(created.secret);
      setForm({ ...form, name: "", networks: "" });
      list.reload();
    },
  );
  const [error, setError] = useState<Error>();
  const revoke = (key: ApiKey) => {
    if (window.confirm(t("admin.confirmRevoke"))) del(`/api-keys/${key.id}`).then(list.reload, setError);
  };
  return (
    <>
      {anyDepartment ? (
        <label className="narrow-field">
          {t("admin.department")}
          <select name="department_id" value={department} onChange={(e) => setDepartment(e.target.value)}>
            <DepartmentOptions />
          </select>
        </label>
      ) : null}
      {error ? <ErrorNotice error={error} /> : null}
      <Async loaded={list} empty={(keys) => keys.length === 0}>
        {(keys) => (
          <table className="keys">
            <thead>
              <tr>
                <th scope="col">{t("admin.keyName")}</th>
                <th scope="col">{t("admin.prefix")}</th>
                <th scope="col">{t("admin.roles")}</th>
                <th scope="col">{t("admin.expires")}</th>
                <th scope="col">{t("admin.allowedFrom")}</th>
                <th scope="col">{t("common.status")}</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((key) => (
                <tr key={key.id} data-key={key.prefix}>
                  <th scope="row">{key.name}</th>
                  <td>
                    <code>{key.prefix}</code>
                  </td>
                  <td>{key.roles.map(label).join("、")}</td>
                  <td>{key.expires_at?.slice(0, 10) ?? "—"}</td>
                  <td>{key.allowed_networks.join("、") || t("admin.anywhere")}</td>
                  <td>
                    {key.revoked_at ? (
                      <span className="tag warn">{t("admin.revoked")}</span>
                    ) : has("auditor") ? null : (
                      <button type="button" className="link" onClick={() => revoke(key)}>
                        {t("admin.revoke")}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Async>
      {held.length > 0 ? (
        <form className="panel" onSubmit={create.submit}>
          <h2>{t("admin.create")}</h2>
          {secret ? (
            <p className="notice" role="status">
              {t("admin.secret")} <code className="secret">{secret}</code>
              <br />
              {t("admin.oauth", { id: secret.slice(0, 12), secret: secret.slice(13) })}
            </p>
          ) : null}
          <div className="row">
            <label>
              {t("admin.keyName")}
              <input name="name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
              <FieldMessage error={create.error} field="name" />
            </label>
            <label>
              {t("admin.expiresDays")}
              <input name="expires_in_days" type="number" min={1} max={3650} value={form.days} onChange={(e) => setForm({ ...form, days: e.target.value })} />
              <FieldMessage error={create.error} field="expires_in_days" />
            </label>
          </div>
          <RoleChoice legend={t("admin.roles")} roles={held} value={form.roles} onChange={(roles) => setForm({ ...form, roles })} />
          <FieldMessage error={create.error} field="roles" />
          <label>
            {t("admin.networks")}
            <textarea name="allowed_networks" rows={2} value={form.networks} onChange={(e) => setForm({ ...form, networks: e.target.value })} />
            <FieldMessage error={create.error} field="allowed_networks" />
          </label>
          <FormError error={create.error} fields={["name", "expires_in_days", "roles", "allowed_networks"]} />
          <button type="submit" className="primary" disabled={create.busy}>
            {t("admin.create")}
          </button>
        </form>
      ) : null}
    </>
  );
}
