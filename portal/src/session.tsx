// Who is logged in (from /auth/me) and the one-stop application cart, which
// lives in the browser until the application is submitted. The cart holds
// this node's entries and other nodes' (each remembers its home node).

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiError, SESSION_ENDED, get, post } from "./api";
import { useLoad } from "./components/Async";
import type { Department, Me, NodeInfo, Role } from "./types";

export interface CartEntry {
  code: string;
  name: string;
  /** The node that holds the entry when it is not this one: the application goes there. */
  home?: { id: string; name: string };
  items: string[];
  chosen: string[];
  shareModes: string[];
}

interface Session {
  me: Me | null;
  node: NodeInfo | null;
  departments: Map<string, Department>;
  ready: boolean;
  has: (role: Role) => boolean;
  login: (username: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  refreshDepartments: () => Promise<void>;
  cart: CartEntry[];
  setCart: (cart: CartEntry[]) => void;
}

const Context = createContext<Session | null>(null);
/** Each account's cart is its own: kept per actor, so the next person at the browser never sees it. */
const cartKey = (actor: string) => `govdata.cart.${actor}`;

/** One entry of the cart: codes are unique within a node, not across nodes. */
export const cartEntryKey = (entry: Pick<CartEntry, "code" | "home">) => `${entry.home?.id ?? ""} ${entry.code}`;

function storedCart(actor: string | undefined): CartEntry[] {
  if (!actor) return [];
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(cartKey(actor)) ?? "[]");
    return Array.isArray(parsed)
      ? parsed.filter((entry): entry is CartEntry =>
          typeof entry?.code === "string" &&
          Array.isArray(entry?.items) &&
          Array.isArray(entry?.chosen) &&
          Array.isArray(entry?.shareModes) &&
          (entry?.home === undefined || (typeof entry.home?.id === "string" && typeof entry.home?.name === "string")),
        )
      : [];
  } catch {
    return [];
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [node, setNode] = useState<NodeInfo | null>(null);
  const [departments, setDepartments] = useState(new Map<string, Department>());
  const [ready, setReady] = useState(false);
  const [cart, setCartState] = useState<CartEntry[]>([]);

  const refresh = useCallback(async () => {
    try {
      const current = await get<Me>("/auth/me");
      setMe(current);
      const list = await get<Department[]>("/departments");
      setDepartments(new Map(list.map((department) => [department.id, department])));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) throw error;
      setMe(null);
    } finally {
      setReady(true);
    }
  }, []);

  useEffect(() => {
    get<NodeInfo>("/node").then(setNode);
    void refresh();
    // Any request answered 401 means the session is over (expired, ended or disabled).
    const ended = () => setMe(null);
    window.addEventListener(SESSION_ENDED, ended);
    return () => window.removeEventListener(SESSION_ENDED, ended);
  }, [refresh]);

  useEffect(() => setCartState(storedCart(me?.actor)), [me?.actor]);

  const value = useMemo<Session>(
    () => ({
      me,
      node,
      departments,
      ready,
      has: (role) => me?.roles.includes(role) ?? false,
      login: async (username, password) => {
        await post("/auth/login", { username, password });
        await refresh();
      },
      logout: async () => {
        try {
          await post("/auth/logout");
        } finally {
          setMe(null);
        }
      },
      refreshDepartments: async () => {
        const list = await get<Department[]>("/departments");
        setDepartments(new Map(list.map((department) => [department.id, department])));
      },
      cart,
      setCart: (next) => {
        if (me) localStorage.setItem(cartKey(me.actor), JSON.stringify(next));
        setCartState(next);
      },
    }),
    [me, node, departments, ready, cart, refresh],
  );
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useSession(): Session {
  const session = useContext(Context);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}

/** A department's name, or its id while names are unknown (anonymous). */
export function useDepartmentName() {
  const { departments } = useSession();
  return (id: string) => departments.get(id)?.name ?? id;
}

/** Names of departments held here but not listed (another node's, registered when its application arrived), read once. */
const unlistedNames = new Map<string, Promise<string>>();

function unlistedName(id: string): Promise<string> {
  if (!unlistedNames.has(id)) {
    const read = get<Department>(`/departments/${encodeURIComponent(id)}`).then((department) => department.name);
    read.catch(() => unlistedNames.delete(id));
    unlistedNames.set(id, read);
  }
  return unlistedNames.get(id)!;
}

/**
 * A department's name: from the node's list, else read by id — a department
 * of another node that applied here, named `<name>（<its node>）` — else its id.
 */
export function DepartmentName({ id }: { id: string }) {
  const { departments } = useSession();
  const listed = departments.get(id)?.name;
  // Until the list is read, every id is unknown: only ask for ids the list lacks.
  const unlisted = useLoad(
    () => (departments.size > 0 && !listed ? unlistedName(id) : Promise.resolve(undefined)),
    [id, departments, listed],
  );
  return <>{listed ?? unlisted.data ?? id}</>;
}

/** The node's departments as `<option>`s, by id; `except` leaves one out. */
export function DepartmentOptions({ except }: { except?: string }) {
  const { departments } = useSession();
  return (
    <>
      {[...departments.values()]
        .filter((department) => department.id !== except)
        .map((department) => (
          <option key={department.id} value={department.id}>
            {department.name}
          </option>
        ))}
    </>
  );
}
