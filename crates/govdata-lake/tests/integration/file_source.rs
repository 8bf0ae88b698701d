//! File connectors against real files: encodings, rejected rows, every format,
//! and the files they refuse.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use govdata_lake::arrow::array::{Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use govdata_lake::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use govdata_lake::source::file::{detect_encoding, FileFormat, FileSource};
use govdata_lake::source::ROW_NUMBER_COLUMN;
use govdata_lake::{LakeError, RejectSink, RejectedRow};

fn csv() -> FileFormat {
    FileFormat::Csv { delimiter: None, header: true, encoding: None }
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

/// Everything a source yields: its schema, its batches, its rejects.
struct Read {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    rejects: Vec<RejectedRow>,
    reject_count: u64,
}

impl Read {
    fn names(&self) -> Vec<&str> {
        self.schema.fields().iter().map(|field| field.name().as_str()).collect()
    }

    fn rows(&self) -> Vec<u64> {
        self.batches
            .iter()
            .flat_map(|batch| {
                let rows = batch.column(0).as_any().downcast_ref::<UInt64Array>().expect("row numbers");
                rows.values().to_vec()
            })
            .collect()
    }

    fn column(&self, name: &str) -> Vec<Option<String>> {
        self.batches
            .iter()
            .flat_map(|batch| {
                let column = batch.column_by_name(name).expect("column");
                let column = column.as_any().downcast_ref::<StringArray>().expect("text column");
                column.iter().map(|value| value.map(str::to_owned)).collect::<Vec<_>>()
            })
            .collect()
    }

    fn rejected_rows(&self) -> Vec<u64> {
        self.rejects.iter().map(|reject| reject.row).collect()
    }
}

async fn read(path: &Path, format: FileFormat, batch_size: usize) -> Result<Read, LakeError> {
    let source = FileSource::new(path.to_owned(), format);
    let schema = source.schema().await?;
    let rejects = RejectSink::default();
    let batches: Vec<RecordBatch> =
        source.stream(batch_size, rejects.clone()).await?.try_collect().await.expect("stream");
    for batch in &batches {
        assert_eq!(batch.schema(), schema, "every batch has the schema");
        assert!(batch.num_rows() <= batch_size);
    }
    let rejects = rejects.snapshot();
    Ok(Read { schema, batches, rejects: rejects.sample, reject_count: rejects.count })
}

fn text(values: &[Option<&str>]) -> Vec<Option<String>> {
    values.iter().map(|value| value.map(str::to_owned)).collect()
}

/// The field a refusal names; panics on anything but [`LakeError::Invalid`].
fn refused_field<T>(result: Result<T, LakeError>) -> String {
    match result {
        Err(LakeError::Invalid { field, .. }) => field,
        Err(other) => panic!("expected an invalid-input refusal, got {other:?}"),
        Ok(_) => panic!("expected a refusal"),
    }
}

const PEOPLE: &str = "姓名,身份证号码,户籍地址,备注\n\
    张三,330102199001011234,浙江省杭州市上城区清波街道,\n\
    李四,330106198512125678,浙江省杭州市西湖区北山街道,党员\n\
    王五,33010219700707001X,浙江省杭州市拱墅区米市巷街道,退役军人\n";

#[tokio::test]
async fn detects_and_decodes_gbk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(PEOPLE);
    assert!(!unmappable);
    assert_eq!(detect_encoding(&bytes), encoding_rs::GBK);
    let path = write(&dir, "people.csv", &bytes);

    let read = read(&path, csv(), 1024).await.expect("readable");
    assert_eq!(read.names(), [ROW_NUMBER_COLUMN, "姓名", "身份证号码", "户籍地址", "备注"]);
    assert!(read.schema.fields()[1..]
        .iter()
        .all(|field| field.data_type() == &DataType::Utf8 && field.is_nullable()));
    assert_eq!(read.rows(), [1, 2, 3]);
    assert_eq!(read.column("姓名"), text(&[Some("张三"), Some("李四"), Some("王五")]));
    assert_eq!(read.column("身份证号码")[2].as_deref(), Some("33010219700707001X"));
    assert_eq!(read.column("户籍地址")[1].as_deref(), Some("浙江省杭州市西湖区北山街道"));
    assert_eq!(read.column("备注"), text(&[None, Some("党员"), Some("退役军人")]));
    assert_eq!(read.reject_count, 0);
}

#[tokio::test]
async fn decodes_an_explicit_gb18030() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 𠮷 is outside GBK: GB18030 gives it four bytes.
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode("编号,姓名\n1,吉𠮷\n2,欧阳娜娜\n");
    assert!(!unmappable);
    let path = write(&dir, "names.csv", &bytes);
    let format = FileFormat::Csv { delimiter: None, header: true, encoding: Some("gb18030".to_owned()) };

    let read = read(&path, format, 10).await.expect("readable");
    assert_eq!(read.names(), [ROW_NUMBER_COLUMN, "编号", "姓名"]);
    assert_eq!(read.column("姓名"), text(&[Some("吉𠮷"), Some("欧阳娜娜")]));
}

#[tokio::test]
async fn strips_a_utf8_bom() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "bom.csv", "\u{feff}编号,名称\r\n1,甲\r\n2,乙\r\n".as_bytes());
    assert_eq!(detect_encoding(&std::fs::read(&path).expect("read")), encoding_rs::UTF_8);

    let read = read(&path, csv(), 10).await.expect("readable");
    assert_eq!(read.names(), [ROW_NUMBER_COLUMN, "编号", "名称"]);
    assert_eq!(read.column("编号"), text(&[Some("1"), Some("2")]));
    assert_eq!(read.column("名称"), text(&[Some("甲"), Some("乙")]));
}

#[tokio::test]
async fn rejects_rows_with_the_wrong_number_of_fields() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "ragged.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n");

    let read = read(&path, csv(), 10).await.expect("readable");
    assert_eq!(read.rows(), [1, 4]);
    assert_eq!(read.column("a"), text(&[Some("1"), Some("10")]));
    assert_eq!(read.reject_count, 2);
    assert_eq!(read.rejected_rows(), [2, 3]);
    assert_eq!(read.rejects[0].column, None);
    assert!(read.rejects[0].reason.contains("2 fields"), "{}", read.rejects[0].reason);
    assert!(read.rejects[1].reason.contains("4 fields"), "{}", read.rejects[1].reason);
}

#[tokio::test]
async fn rejects_bytes_invalid_in_the_encoding() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut bytes, _, _) = encoding_rs::GBK.encode("编号,名称\n1,甲\n");
    // 0x81 starts a two-byte GBK character; a line break cannot end it.
    bytes.to_mut().extend_from_slice(b"2,\x81\n3,\xd2\xd2\n");
    let path = write(&dir, "broken.csv", &bytes);
    let format = FileFormat::Csv { delimiter: None, header: true, encoding: Some("gbk".to_owned()) };

    let read = read(&path, format, 10).await.expect("readable");
    assert_eq!(read.rows(), [1, 3]);
    assert_eq!(read.column("名称"), text(&[Some("甲"), Some("乙")]));
    assert_eq!(read.rejected_rows(), [2]);
    assert_eq!(read.rejects[0].column.as_deref(), Some("名称"));
    assert!(read.rejects[0].reason.contains("GBK"), "{}", read.rejects[0].reason);
}

#[tokio::test]
async fn reads_quoted_fields_and_empty_cells() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(
        &dir,
        "quoted.csv",
        "id,text,note\n1,\"a, b\",x\n2,\"第一行\n第二行\",\n3,\"say \"\"hi\"\"\",\"\"\n,,\n".as_bytes(),
    );

    let read = read(&path, csv(), 10).await.expect("readable");
    assert_eq!(read.rows(), [1, 2, 3, 4]);
    assert_eq!(read.column("id"), text(&[Some("1"), Some("2"), Some("3"), None]));
    assert_eq!(read.column("text"), text(&[Some("a, b"), Some("第一行\n第二行"), Some("say \"hi\""), None]));
    assert_eq!(read.column("note"), text(&[Some("x"), None, None, None]));
}

#[tokio::test]
async fn reads_other_delimiters_and_headerless_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "plain.txt", "甲;1\n乙;2\n".as_bytes());
    let format = FileFormat::Csv { delimiter: Some(';'), header: false, encoding: Some("utf-8".to_owned()) };

    let read = read(&path, format, 10).await.expect("readable");
    assert_eq!(read.names(), [ROW_NUMBER_COLUMN, "column_1", "column_2"]);
    assert_eq!(read.rows(), [1, 2]);
    assert_eq!(read.column("column_1"), text(&[Some("甲"), Some("乙")]));
}

#[tokio::test]
async fn names_blank_and_repeated_headers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "names.csv", b"name, name ,,__row\n1,2,3,4\n");

    let read = read(&path, csv(), 10).await.expect("readable");
    assert_eq!(read.names(), [ROW_NUMBER_COLUMN, "name", "name_2", "column_3", "__row_2"]);
    assert_eq!(read.column("__row_2"), text(&[Some("4")]));
}

#[tokio::test]
async fn streams_a_large_csv_in_many_batches() {
    const ROWS: u64 = 300_000;
    const BATCH: usize = 8192;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("large.csv");
    let mut out = BufWriter::new(std::fs::File::create(&path).expect("create"));
    writeln!(out, "序号,名称,金额").expect("write");
    for i in 1..=ROWS {
        writeln!(out, "{i},单位{i},{}.{:02}", i * 3, i % 100).expect("write");
    }
    out.into_inner().expect("flush").sync_all().expect("sync");

    let source = FileSource::new(path.clone(), csv());
    let rejects = RejectSink::default();
    let mut stream = source.stream(BATCH, rejects.clone()).await.expect("stream");
    let (mut batches, mut expected) = (0, 1u64);
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("batch");
        assert!(batch.num_rows() <= BATCH);
        let rows = batch.column(0).as_any().downcast_ref::<UInt64Array>().expect("row numbers");
        for row in rows.values() {
            assert_eq!(*row, expected, "row numbers are consecutive");
            expected += 1;
        }
        let names = batch.column(2).as_any().downcast_ref::<StringArray>().expect("names");
        assert_eq!(names.value(0), format!("单位{}", rows.value(0)));
        batches += 1;
    }
    assert_eq!(expected, ROWS + 1);
    assert!(batches >= (ROWS as usize).div_ceil(BATCH), "{batches} batches");
    assert_eq!(rejects.snapshot().count, 0);

    // A consumer that stops early releases the reader instead of hanging it.
    let mut stream = source.stream(BATCH, RejectSink::default()).await.expect("stream");
    assert_eq!(stream.next().await.expect("a batch").expect("batch").num_rows(), BATCH);
    drop(stream);
}

#[tokio::test]
async fn reads_ndjson_and_rejects_lines_that_are_not_objects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lines = concat!(
        "{\"id\": 1, \"name\": \"张三\", \"tags\": [\"党员\", \"退役军人\"]}\n",
        "\n",
        "not json\n",
        "[1, 2]\n",
        "{\"id\": 2, \"extra\": {\"市\": \"杭州\", \"区\": \"上城\"}, \"ok\": true, \"score\": 9.5, \"name\": null}\r\n",
    );
    let path = write(&dir, "people.ndjson", lines.as_bytes());

    let read = read(&path, FileFormat::Ndjson, 10).await.expect("readable");
    assert_eq!(read.names(), [ROW_NUMBER_COLUMN, "id", "name", "tags", "extra", "ok", "score"]);
    assert_eq!(read.rows(), [1, 5], "NDJSON rows are line numbers");
    assert_eq!(read.column("id"), text(&[Some("1"), Some("2")]));
    assert_eq!(read.column("name"), text(&[Some("张三"), None]));
    assert_eq!(read.column("tags"), text(&[Some(r#"["党员","退役军人"]"#), None]));
    assert_eq!(read.column("extra"), text(&[None, Some(r#"{"市":"杭州","区":"上城"}"#)]));
    assert_eq!(read.column("ok"), text(&[None, Some("true")]));
    assert_eq!(read.column("score"), text(&[None, Some("9.5")]));
    assert_eq!(read.rejected_rows(), [3, 4]);
    assert!(read.rejects[0].reason.contains("invalid JSON"), "{}", read.rejects[0].reason);
    assert!(read.rejects[1].reason.contains("not a JSON object"), "{}", read.rejects[1].reason);
}

#[tokio::test]
async fn reads_a_json_array_of_objects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json = r#"[
        {"统一社会信用代码": "91330100MA2AAAAA1X", "名称": "杭州某某科技有限公司"},
        {"名称": "宁波某某, [贸易] 公司", "注册资本": 500},
        7,
        {"注册资本": null}
    ]"#;
    let path = write(&dir, "companies.json", json.as_bytes());

    let read = read(&path, FileFormat::Json, 2).await.expect("readable");
    assert_eq!(read.names(), [ROW_NUMBER_COLUMN, "统一社会信用代码", "名称", "注册资本"]);
    assert_eq!(read.rows(), [1, 2, 4]);
    assert_eq!(
        read.column("名称"),
        text(&[Some("杭州某某科技有限公司"), Some("宁波某某, [贸易] 公司"), None])
    );
    assert_eq!(read.column("注册资本"), text(&[None, Some("500"), None]));
    assert_eq!(read.rejected_rows(), [3]);
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

// tests/data/companies.xlsx was made with openpyxl 3.1 (`pip install openpyxl`):
//
//     import datetime, openpyxl
//     wb = openpyxl.Workbook()
//     ws = wb.active
//     ws.title = "企业名录"
//     ws.append(["统一社会信用代码", "企业名称", "注册资本（万元）", "成立日期", "是否存续", "备注"])
//     ws.append(["91330100MA2AAAAA1X", "杭州某某科技有限公司", 500, datetime.date(2020, 5, 17), True, None])
//     ws.append(["91330100MA2AAAAA2X", "宁波某某贸易有限公司", 1234.5,
//                datetime.datetime(2021, 1, 2, 8, 30), False, "注销中"])
//     ws.append([])
//     ws.append(["91330100MA2AAAAA3X", None, 0, None, None, "缺名称"])
//     ws.append(["91330100MA2AAAAA4X", "温州某某公司", "#DIV/0!", None, None, None])
//     ws.append(["91330100MA2AAAAA5X", "嘉兴某某公司", 1, None, None, None, None, "表外备注"])
//     second = wb.create_sheet("第二页")
//     second["B3"], second["C3"] = "名称", "数量"
//     second["B4"], second["C4"] = "甲", 1
//     second["B5"], second["C5"] = "乙", 2
//     wb.save("companies.xlsx")

#[tokio::test]
async fn reads_the_first_sheet_of_a_workbook() {
    let read = read(&fixture("companies.xlsx"), FileFormat::Xlsx { sheet: None }, 2).await.expect("readable");
    assert_eq!(
        read.names(),
        [
            ROW_NUMBER_COLUMN,
            "统一社会信用代码",
            "企业名称",
            "注册资本（万元）",
            "成立日期",
            "是否存续",
            "备注"
        ]
    );
    // Sheet row 4 is blank: skipped, but the numbering keeps to the sheet.
    assert_eq!(read.rows(), [1, 2, 4]);
    assert_eq!(
        read.column("企业名称"),
        text(&[Some("杭州某某科技有限公司"), Some("宁波某某贸易有限公司"), None])
    );
    assert_eq!(read.column("注册资本（万元）"), text(&[Some("500"), Some("1234.5"), Some("0")]));
    assert_eq!(read.column("成立日期"), text(&[Some("2020-05-17"), Some("2021-01-02 08:30:00"), None]));
    assert_eq!(read.column("是否存续"), text(&[Some("true"), Some("false"), None]));
    assert_eq!(read.column("备注"), text(&[None, Some("注销中"), Some("缺名称")]));

    assert_eq!(read.rejected_rows(), [5, 6]);
    assert_eq!(read.rejects[0].column.as_deref(), Some("注册资本（万元）"));
    assert!(read.rejects[0].reason.contains("#DIV/0!"), "{}", read.rejects[0].reason);
    assert!(read.rejects[1].reason.contains("column H"), "{}", read.rejects[1].reason);
}

#[tokio::test]
async fn reads_a_named_sheet_whose_header_is_not_in_a1() {
    let format = FileFormat::Xlsx { sheet: Some("第二页".to_owned()) };
    let read = read(&fixture("companies.xlsx"), format, 10).await.expect("readable");
    assert_eq!(read.names(), [ROW_NUMBER_COLUMN, "名称", "数量"]);
    assert_eq!(read.rows(), [1, 2]);
    assert_eq!(read.column("名称"), text(&[Some("甲"), Some("乙")]));
    assert_eq!(read.column("数量"), text(&[Some("1"), Some("2")]));
}

fn write_parquet(path: &Path, rows: i64) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("名称", DataType::Utf8, true),
    ]));
    let ids = Int64Array::from_iter_values(0..rows);
    let names = StringArray::from_iter((0..rows).map(|i| (i % 3 != 0).then(|| format!("单位{i}"))));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(ids), Arc::new(names)]).expect("batch");
    let file = std::fs::File::create(path).expect("create");
    let mut writer = deltalake::parquet::arrow::ArrowWriter::try_new(file, schema, None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

#[tokio::test]
async fn reads_parquet_with_its_own_types() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("units.parquet");
    write_parquet(&path, 10);

    let read = read(&path, FileFormat::Parquet, 4).await.expect("readable");
    assert_eq!(read.names(), [ROW_NUMBER_COLUMN, "id", "名称"]);
    assert_eq!(read.schema.field(1).data_type(), &DataType::Int64);
    assert_eq!(read.batches.len(), 3);
    assert_eq!(read.rows(), (1..=10).collect::<Vec<u64>>());
    let ids: Vec<i64> = read
        .batches
        .iter()
        .flat_map(|batch| {
            batch.column(1).as_any().downcast_ref::<Int64Array>().expect("ids").values().to_vec()
        })
        .collect();
    assert_eq!(ids, (0..10).collect::<Vec<i64>>());
    assert_eq!(read.column("名称")[..3], text(&[None, Some("单位1"), Some("单位2")]));
}

#[tokio::test]
async fn refuses_files_it_cannot_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv_path = write(&dir, "a.csv", b"a,b\n1,2\n");

    let unknown = FileFormat::Csv { delimiter: None, header: true, encoding: Some("klingon".to_owned()) };
    let message = unknown.validate().expect_err("an unknown label").to_string();
    assert!(message.contains("klingon"), "{message}");
    let source = FileSource::new(csv_path.clone(), unknown);
    assert_eq!(refused_field(source.schema().await), "format.encoding");
    assert_eq!(refused_field(source.stream(10, RejectSink::default()).await), "format.encoding");

    let missing_sheet =
        FileSource::new(fixture("companies.xlsx"), FileFormat::Xlsx { sheet: Some("汇总".into()) });
    assert_eq!(refused_field(missing_sheet.schema().await), "format.sheet");
    assert_eq!(refused_field(missing_sheet.stream(10, RejectSink::default()).await), "format.sheet");

    let not_xlsx = FileSource::new(csv_path.clone(), FileFormat::Xlsx { sheet: None });
    assert_eq!(refused_field(not_xlsx.schema().await), "format");

    let parquet = dir.path().join("cut.parquet");
    write_parquet(&parquet, 100);
    let bytes = std::fs::read(&parquet).expect("read");
    std::fs::write(&parquet, &bytes[..bytes.len() / 2]).expect("truncate");
    let truncated = FileSource::new(parquet, FileFormat::Parquet);
    assert_eq!(refused_field(truncated.schema().await), "format");
    assert_eq!(refused_field(truncated.stream(10, RejectSink::default()).await), "format");

    let not_json = FileSource::new(csv_path.clone(), FileFormat::Json);
    assert_eq!(refused_field(not_json.schema().await), "format");

    let empty = FileSource::new(write(&dir, "empty.csv", b""), csv());
    assert_eq!(refused_field(empty.schema().await), "format");

    let bad_delimiter = FileFormat::Csv { delimiter: Some('，'), header: true, encoding: None };
    assert_eq!(refused_field(FileSource::new(csv_path, bad_delimiter).schema().await), "format.delimiter");

    let gone = FileSource::new(dir.path().join("gone.csv"), csv());
    assert!(matches!(gone.schema().await, Err(LakeError::NotFound(_))));
}

#[test]
fn formats_parse_from_json_and_file_names() {
    let format: FileFormat =
        serde_json::from_str(r#"{"kind": "csv", "delimiter": "\t", "encoding": "gbk"}"#).expect("csv");
    assert_eq!(format, FileFormat::Csv { delimiter: Some('\t'), header: true, encoding: Some("gbk".into()) });
    let format: FileFormat = serde_json::from_str(r#"{"kind": "xlsx"}"#).expect("xlsx");
    assert_eq!(format, FileFormat::Xlsx { sheet: None });
    assert!(serde_json::from_str::<FileFormat>(r#"{"kind": "csv", "quote": "'"}"#).is_err());
    assert!(serde_json::from_str::<FileFormat>(r#"{"kind": "xls"}"#).is_err());

    assert_eq!(FileFormat::from_extension(Path::new("a/人口.CSV")), Some(csv()));
    assert_eq!(FileFormat::from_extension(Path::new("x.jsonl")), Some(FileFormat::Ndjson));
    assert_eq!(FileFormat::from_extension(Path::new("x.json")), Some(FileFormat::Json));
    assert_eq!(FileFormat::from_extension(Path::new("x.xlsx")), Some(FileFormat::Xlsx { sheet: None }));
    assert_eq!(FileFormat::from_extension(Path::new("x.parquet")), Some(FileFormat::Parquet));
    assert_eq!(FileFormat::from_extension(Path::new("x.xls")), None);
    assert_eq!(FileFormat::from_extension(Path::new("README")), None);
}
