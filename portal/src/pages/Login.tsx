import { useState, type FormEvent } from "react";
import { useLocation } from "wouter";
import { FormError, useAction } from "../components/Async";
import { useT } from "../i18n";
import { useSession } from "../session";

export function Login() {
  const { t } = useT();
  const { login } = useSession();
  const [, navigate] = useLocation();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const { error, busy, run } = useAction();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(() => login(username.trim(), password), () => navigate("/"));
  };

  return (
    <section className="panel narrow">
      <h1>{t("login.title")}</h1>
      <form onSubmit={submit}>
        <label>
          {t("login.username")}
          <input name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        <label>
          {t("login.password")}
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <FormError error={error} fields={[]} />
        <button type="submit" disabled={busy}>
          {t("login.submit")}
        </button>
      </form>
    </section>
  );
}
