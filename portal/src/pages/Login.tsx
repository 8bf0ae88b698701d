import { useState, type FormEvent } from "react";
import { useLocation } from "wouter";
import { ErrorNotice } from "../components/Async";
import { useT } from "../i18n";
import { useSession } from "../session";

export function Login() {
  const { t } = useT();
  const { login } = useSession();
  const [, navigate] = useLocation();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await login(username.trim(), password);
      navigate("/");
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
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
        {error ? <ErrorNotice error={error} /> : null}
        <button type="submit" disabled={busy}>
          {t("login.submit")}
        </button>
      </form>
    </section>
  );
}
