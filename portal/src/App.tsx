import { useEffect, type ReactNode } from "react";
import { Link, Route, Switch, useLocation } from "wouter";
import { useLanguage, useT } from "./i18n";
import { useSession } from "./session";
import type { Role } from "./types";
import { Home } from "./pages/Home";
import { Search } from "./pages/Search";
import { EntryPage } from "./pages/Entry";
import { Cart } from "./pages/Cart";
import { Applications } from "./pages/Applications";
import { Grants } from "./pages/Grants";
import { Login } from "./pages/Login";
import { Review } from "./pages/Review";
import { Audit } from "./pages/Audit";
import { Admin, Credentials } from "./pages/Admin";
import { Provider } from "./pages/Provider";
import { ProviderEntryForm } from "./pages/ProviderEntryForm";
import { ProviderResources } from "./pages/ProviderResources";
import { ProviderImport } from "./pages/ProviderImport";
import { Demands } from "./pages/Demands";
import { FederatedEntryPage, Federation } from "./pages/Federation";

export function App() {
  const { t } = useT();
  const { node } = useSession();
  useEffect(() => {
    document.title = node ? `${t("app.title")} · ${node.name}` : t("app.title");
  }, [node, t]);
  return (
    <>
      <Header />
      <main id="main">
        <Switch>
          <Route path="/" component={Home} />
          <Route path="/catalog" component={Search} />
          <Route path="/catalog/federated/:node/:code">
            {(params) => <FederatedEntryPage node={decoded(params.node)} code={decoded(params.code)} />}
          </Route>
          <Route path="/catalog/:code">{(params) => <EntryPage code={decoded(params.code)} />}</Route>
          <Route path="/login" component={Login} />
          <Route path="/cart">{() => <Guard role="consumer"><Cart /></Guard>}</Route>
          <Route path="/applications">{() => <Guard><Applications side="consumer" /></Guard>}</Route>
          <Route path="/inbox">{() => <Guard><Applications side="inbox" /></Guard>}</Route>
          <Route path="/grants">{() => <Guard><Grants /></Guard>}</Route>
          <Route path="/review">{() => <Guard role="authority"><Review /></Guard>}</Route>
          <Route path="/demands">{() => <Guard roles={["consumer", "provider", "authority", "auditor"]}><Demands /></Guard>}</Route>
          <Route path="/admin">{() => <Guard roles={["admin", "security_admin", "auditor"]}><Admin /></Guard>}</Route>
          <Route path="/credentials">{() => <Guard roles={["provider", "consumer", "analyst"]}><Credentials /></Guard>}</Route>
          <Route path="/provide">{() => <Guard role="provider"><Provider /></Guard>}</Route>
          <Route path="/provide/new">{() => <Guard role="provider"><ProviderEntryForm /></Guard>}</Route>
          <Route path="/provide/edit/:code">{(params) => <Guard role="provider"><ProviderEntryForm key={params.code} code={decoded(params.code)} /></Guard>}</Route>
          <Route path="/provide/resources/:code">{(params) => <Guard role="provider"><ProviderResources code={decoded(params.code)} /></Guard>}</Route>
          <Route path="/provide/import">{() => <Guard role="provider"><ProviderImport /></Guard>}</Route>
          <Route path="/federation">{() => <Guard><Federation /></Guard>}</Route>
          <Route path="/audit">{() => <Guard roles={["auditor", "authority"]}><Audit /></Guard>}</Route>
          <Route>
            <p className="empty">404</p>
          </Route>
        </Switch>
      </main>
    </>
  );
}

/** A path segment as written in the address; a malformed escape is kept as typed (and found by nobody). */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Pages that need a login (and optionally one of some roles) send others to log in. */
function Guard({ role, roles, children }: { role?: Role; roles?: Role[]; children: ReactNode }) {
  const { me, ready, has } = useSession();
  const { t } = useT();
  const wanted = roles ?? (role ? [role] : []);
  if (!ready) return <p className="loading">{t("common.loading")}</p>;
  if (!me || (wanted.length > 0 && !wanted.some(has)))
    return (
      <section className="panel">
        <p>{t("login.needed")}</p>
        <Link href="/login">{t("nav.login")}</Link>
      </section>
    );
  return <>{children}</>;
}

function Header() {
  const { t } = useT();
  const { language, setLanguage } = useLanguage();
  const { me, node, has, logout, cart } = useSession();
  const [, navigate] = useLocation();
  const deciding = has("provider") || has("authority");
  return (
    <header className="top">
      <a className="skip" href="#main">
        {t("nav.skip")}
      </a>
      <div className="brand">
        <strong>{t("app.title")}</strong>
        {node ? <span className="node-name">{node.name}</span> : null}
      </div>
      <nav aria-label={t("nav.main")}>
        <NavLink href="/">{t("nav.home")}</NavLink>
        <NavLink href="/catalog">{t("nav.catalog")}</NavLink>
        {has("consumer") ? (
          <NavLink href="/cart">
            {t("nav.cart")}
            {cart.length ? <span className="badge" aria-label={`${cart.length}`}>{cart.length}</span> : null}
          </NavLink>
        ) : null}
        {me ? <NavLink href="/applications">{t("nav.applications")}</NavLink> : null}
        {deciding ? <NavLink href="/inbox">{t("nav.inbox")}</NavLink> : null}
        {me ? <NavLink href="/grants">{t("nav.grants")}</NavLink> : null}
        {has("consumer") || has("provider") || has("authority") || has("auditor") ? <NavLink href="/demands">{t("nav.demands")}</NavLink> : null}
        {has("authority") ? <NavLink href="/review">{t("nav.review")}</NavLink> : null}
        {has("provider") ? <NavLink href="/provide">{t("nav.provide")}</NavLink> : null}
        {has("auditor") || has("authority") ? <NavLink href="/audit">{t("nav.audit")}</NavLink> : null}
        {has("provider") || has("consumer") || has("analyst") ? <NavLink href="/credentials">{t("nav.credentials")}</NavLink> : null}
        {has("admin") || has("security_admin") || has("auditor") ? <NavLink href="/admin">{t("nav.admin")}</NavLink> : null}
        {me ? <NavLink href="/federation">{t("nav.federation")}</NavLink> : null}
      </nav>
      <div className="account">
        <button type="button" className="link" onClick={() => setLanguage(language === "zh" ? "en" : "zh")}>
          {t("nav.language")}
        </button>
        {me ? (
          <>
            <span className="who">{me.user?.display_name ?? me.actor}</span>
            <button
              type="button"
              className="link"
              onClick={() => logout().then(() => navigate("/"))}
            >
              {t("nav.logout")}
            </button>
          </>
        ) : (
          <Link href="/login">{t("nav.login")}</Link>
        )}
      </div>
    </header>
  );
}

function NavLink({ href, children }: { href: string; children: ReactNode }) {
  const [location] = useLocation();
  const current = href === "/" ? location === "/" : location.startsWith(href);
  return (
    <Link href={href} aria-current={current ? "page" : undefined}>
      {children}
    </Link>
  );
}
