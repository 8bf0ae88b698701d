// Simplified Chinese by default, English switchable; the choice is kept in
// the browser. Every visible string goes through `t`, enum values through
// `label`, so both languages cover the same screens.

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { coreMessages, labels as valueLabels, roleLabels } from "./messages/core";
import { adminMessages } from "./messages/admin";
import { workflowMessages } from "./messages/workflow";
import { providerMessages } from "./messages/provider";
import { federationLabels, federationMessages } from "./messages/federation";

export type Language = "zh" | "en";

const messages = { ...coreMessages, ...adminMessages, ...workflowMessages, ...providerMessages, ...federationMessages };
const labels = { ...valueLabels, ...roleLabels, ...federationLabels };

export type MessageKey = keyof typeof messages;


interface LanguageContext {
  language: Language;
  setLanguage: (language: Language) => void;
}

const Context = createContext<LanguageContext>({ language: "zh", setLanguage: () => {} });

const STORAGE_KEY = "govdata.language";

export function LanguageProvider({ children }: { children: ReactNode }) {
  const [language, setLanguage] = useState<Language>(() =>
    localStorage.getItem(STORAGE_KEY) === "en" ? "en" : "zh",
  );
  useEffect(() => {
    localStorage.setItem(STORAGE_KEY, language);
    document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
  }, [language]);
  const value = useMemo(() => ({ language, setLanguage }), [language]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useLanguage() {
  return useContext(Context);
}

/** `t(key, {name: value})` and `label(enumValue)` in the chosen language. */
export function useT() {
  const { language } = useContext(Context);
  const index = language === "zh" ? 0 : 1;
  const t = useCallback(
    (key: MessageKey, values?: Record<string, string | number>) => {
      let text = messages[key][index];
      for (const [name, value] of Object.entries(values ?? {})) text = text.replace(`{${name}}`, String(value));
      return text;
    },
    [index],
  );
  const label = useCallback((value: string) => labels[value]?.[index] ?? value, [index]);
  /** A search facet's value in the chosen language; the server's (Chinese) label where the portal has none. */
  const facetValue = useCallback(
    (facet: string, value: string, serverLabel: string) => {
      const message = (key: string) => (key in messages ? messages[key as MessageKey][index] : undefined);
      const grade = /^general_(\d)$/.exec(value);
      const translated =
        facet === "open_type"
          ? labels[`open.${value}`]?.[index]
          : facet === "class"
            ? message(`class.${value}`)
            : facet === "format_class"
              ? message(`format.${value}`)
              : facet === "grade" && grade
                ? gradeLabel({ level: "general", sublevel: Number(grade[1]) }, language)
                : facet === "provider" || facet === "node" || facet === "region"
                  ? undefined
                  : labels[value]?.[index];
      return translated ?? serverLabel;
    },
    [index, language],
  );
  const locale = language === "zh" ? "zh-CN" : "en";
  const time = useCallback((at: string) => new Date(at).toLocaleString(locale, { hour12: false }), [locale]);
  const date = useCallback((at: string) => new Date(at).toLocaleDateString(locale), [locale]);
  return { t, label, language, time, date, facetValue };
}

export function gradeLabel(grade: { level: string; sublevel?: number } | null | undefined, language: Language) {
  if (!grade) return language === "zh" ? "未分级" : "Ungraded";
  const base = labels[grade.level]?.[language === "zh" ? 0 : 1] ?? grade.level;
  return grade.sublevel ? (language === "zh" ? `${base}${grade.sublevel}级` : `${base} ${grade.sublevel}`) : base;
}
