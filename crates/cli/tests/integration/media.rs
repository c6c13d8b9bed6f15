//! Photos and recordings over HTTP: multipart reports with photos, EXIF removed, thumbnails, access; voice notes with their metadata neutralised.

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

/// A JPEG carrying an EXIF block with a GPS position (30°44'42"N 120°29'12"E) and a camera make.
fn jpeg_with_gps() -> Vec<u8> {
    fn entry(tag: u16, typ: u16, count: u32, value: [u8; 4]) -> Vec<u8> {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend(typ.to_le_bytes());
        e.extend(count.to_le_bytes());
        e.extend(value);
        e
    }
    fn rationals(v: &[(u32, u32)]) -> Vec<u8> {
        v.iter().flat_map(|(n, d)| n.to_le_bytes().into_iter().chain(d.to_le_bytes())).collect()
    }
    // TIFF header, IFD0 at 8 with Make and a GPS pointer, GPS IFD after it, then the values.
    let ifd0_len = 2 + 2 * 12 + 4;
    let gps_at = 8 + ifd0_len;
    let gps_len = 2 + 4 * 12 + 4;
    let make_at = gps_at + gps_len;
    let lat_at = make_at + 8;
    let lon_at = lat_at + 24;
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(2u16.to_le_bytes());
    tiff.extend(entry(0x010f, 2, 8, (make_at as u32).to_le_bytes()));
    tiff.extend(entry(0x8825, 4, 1, (gps_at as u32).to_le_bytes()));
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(4u16.to_le_bytes());
    tiff.extend(entry(1, 2, 2, *b"N\0\0\0"));
    tiff.extend(entry(2, 5, 3, (lat_at as u32).to_le_bytes()));
    tiff.extend(entry(3, 2, 2, *b"E\0\0\0"));
    tiff.extend(entry(4, 5, 3, (lon_at as u32).to_le_bytes()));
    tiff.extend(0u32.to_le_bytes());
    tiff.extend(b"SECRETC\0");
    tiff.extend(rationals(&[(30, 1), (44, 1), (4200, 100)]));
    tiff.extend(rationals(&[(120, 1), (29, 1), (1200, 100)]));
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let plain = jpeg(80, 60);
    let mut out = plain[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&plain[2..]);
    out
}

#[tokio::test]
async fn a_multipart_report_with_photos_strips_exif_and_serves_thumbnails() {
    let t = TestApp::spawn().await;
    let original = jpeg_with_gps();
    assert!(original.windows(7).any(|w| w == b"SECRETC"), "fixture carries the EXIF block");
    // Upload first: the photo's GPS is offered as a suggestion.
    let up = t.post_multipart(None, "/api/v1/media", Form::new().part("file", jpeg_part(original.clone()))).await;
    let suggested = &up.ok()["suggested_location"];
    assert!((suggested["lat"].as_f64().unwrap() - 30.745).abs() < 1e-4, "{suggested}");
    assert!((suggested["lon"].as_f64().unwrap() - 120.4867).abs() < 1e-3, "{suggested}");

    let form = Form::new()
        .text("description", "路灯不亮")
        .text("lat", IN_GRID2.0.to_string())
        .text("lon", IN_GRID2.1.to_string())
        .text("urgency", "urgent")
        .text("category", STREET_LIGHT.to_string())
        .part("photos", jpeg_part(original.clone()))
        .part("photos", jpeg_part(jpeg(300, 200)));
    let r = t.post_multipart(Some("resident"), "/api/v1/cases", form).await;
    assert_eq!(r.status, 201, "{r:?}");
    assert_eq!(r.body["case"]["grid"], GRID2);
    let id = id_of(&r.body);
    let detail = t.detail("resident", id).await;
    let media = detail["media"].as_array().unwrap();
    assert_eq!(media.len(), 2);
    for m in media {
        let bytes = t
            .client
            .get(format!("{}{}", t.base, m["url"].as_str().unwrap()))
            .bearer_auth("resident-token")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(bytes.starts_with(&[0xFF, 0xD8]), "a JPEG");
        assert!(!bytes.windows(4).any(|w| w == b"Exif"), "EXIF removed");
        assert!(!bytes.windows(7).any(|w| w == b"SECRETC"), "camera make removed");
        let thumb = t
            .client
            .get(format!("{}{}", t.base, m["thumbnail_url"].as_str().unwrap()))
            .bearer_auth("resident-token")
            .send()
            .await
            .unwrap();
        assert_eq!(thumb.status(), 200);
        assert_eq!(thumb.headers()["content-type"], "image/jpeg");
    }
    // Another resident cannot fetch the photos of a case they cannot see (not yet public).
    let url = media[0]["url"].as_str().unwrap();
    let r = t.client.get(format!("{}{url}", t.base)).bearer_auth("resident2-token").send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn bad_uploads_are_refused_clearly() {
    let t = TestApp::spawn().await;
    let not_image = Form::new().part("file", Part::bytes(b"hello, not an image".to_vec()).file_name("a.jpg"));
    t.post_multipart(None, "/api/v1/media", not_image).await.problem(415, Some("file"));
    let wrong_field = Form::new().part("picture", jpeg_part(jpeg(10, 10)));
    t.post_multipart(None, "/api/v1/media", wrong_field).await.problem(422, Some("picture"));
    t.post_multipart(None, "/api/v1/media", Form::new()).await.problem(400, None);
    // A multipart report with a broken photo stores no case.
    let form = Form::new()
        .text("description", "x")
        .text("lat", "30.005")
        .text("lon", "120.005")
        .part("photos", Part::bytes(vec![0xFF, 0xD8, 0xFF, 0x00, 0x01]).file_name("b.jpg"));
    t.post_multipart(None, "/api/v1/cases", form).await.problem(422, Some("photos"));
    let no_description = Form::new().text("lat", "30.005").text("lon", "120.005");
    t.post_multipart(None, "/api/v1/cases", no_description).await.problem(422, Some("description"));
    let bad_lat = Form::new().text("description", "x").text("lat", "abc").text("lon", "120");
    t.post_multipart(None, "/api/v1/cases", bad_lat).await.problem(422, Some("lat"));
    assert_eq!(t.store.count_cases().await.unwrap(), 0);
}

/// A local S3-compatible server (moto's, installed by scripts/test into target/s3-venv), stopped
/// when dropped.
struct S3Server {
    child: tokio::process::Child,
    endpoint: String,
}

impl S3Server {
    async fn start() -> Self {
        let bin = std::env::var("GRIDKEEPER_MOTO_SERVER")
            .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/s3-venv/bin/moto_server").into());
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = tokio::process::Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the S3 server {bin} ({e}): run scripts/s3-server first"));
        let endpoint = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if client.get(&endpoint).send().await.is_ok_and(|r| r.status().is_success()) {
                return S3Server { child, endpoint };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the S3 server did not start");
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

#[tokio::test]
async fn photos_go_to_an_s3_compatible_store_by_configuration() {
    let s3 = S3Server::start().await;
    let client = reqwest::Client::new();
    assert!(client.put(format!("{}/gk-media", s3.endpoint)).send().await.unwrap().status().is_success());
    let endpoint = s3.endpoint.clone();
    let t = TestApp::spawn_with(backend(), None, move |s| {
        s.media_url = Some("s3://gk-media/town".into());
        for (k, v) in [
            ("endpoint", endpoint.as_str()),
            ("allow_http", "true"),
            ("region", "us-east-1"),
            ("access_key_id", "gridkeeper"),
            ("secret_access_key", "not-a-secret"),
        ] {
            s.media_options.insert(k.into(), v.into());
        }
    })
    .await;
    let form = Form::new()
        .text("description", "井盖破损")
        .text("lat", IN_GRID1.0.to_string())
        .text("lon", IN_GRID1.1.to_string())
        .part("photos", jpeg_part(jpeg_with_gps()));
    let r = t.post_multipart(Some("resident"), "/api/v1/cases", form).await;
    assert_eq!(r.status, 201, "{r:?}");
    let detail = t.detail("resident", id_of(&r.body)).await;
    let m = &detail["media"][0];
    for url in [m["url"].as_str().unwrap(), m["thumbnail_url"].as_str().unwrap()] {
        let got = t.client.get(format!("{}{url}", t.base)).bearer_auth("resident-token").send().await.unwrap();
        assert_eq!(got.status(), 200);
        let bytes = got.bytes().await.unwrap();
        assert!(bytes.starts_with(&[0xFF, 0xD8]) && !bytes.windows(4).any(|w| w == b"Exif"));
    }
    // The objects are in the bucket under the prefix, and nothing went to the local folder.
    let listing =
        client.get(format!("{}/gk-media?list-type=2", s3.endpoint)).send().await.unwrap().text().await.unwrap();
    assert_eq!(listing.matches("<Key>town/").count(), 2, "{listing}");
    assert!(!t.dir.join("media").exists() || std::fs::read_dir(t.dir.join("media")).unwrap().next().is_none());
    // A malformed media_url stops the start-up with a reason, never falls back to the folder.
    let bad = gridkeeper_server::media::open_store(&gridkeeper_server::Settings {
        media_url: Some("s3:/gk-media".into()),
        ..Default::default()
    });
    assert!(bad.is_err());
}

fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

/// A voice note as a phone writes it: M4A with the place it was recorded in its user data.
fn voice_note() -> Vec<u8> {
    let ftyp = mp4_box(b"ftyp", b"M4A \0\0\0\0M4A isom");
    let udta = mp4_box(b"udta", &mp4_box(b"\xa9xyz", b"+30.7453+120.4862/"));
    let moov = mp4_box(b"moov", &[mp4_box(b"mvhd", &[0; 100]), udta].concat());
    [ftyp, moov, mp4_box(b"mdat", &[9; 2000])].concat()
}

#[tokio::test]
async fn a_voice_report_is_kept_without_the_place_it_was_recorded() {
    let t = TestApp::spawn().await;
    let part = Part::bytes(voice_note()).file_name("voice.m4a").mime_str("audio/mp4").unwrap();
    let r = t.post_multipart(Some("resident"), "/api/v1/media", Form::new().part("file", part)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["content_type"], "audio/mp4");
    let id = r.body["id"].as_str().unwrap().to_string();
    let stored =
        t.client.get(format!("{}/api/v1/media/{id}", t.base)).bearer_auth("resident-token").send().await.unwrap();
    assert_eq!(stored.headers()["content-type"], "audio/mp4");
    let bytes = stored.bytes().await.unwrap();
    assert_eq!(bytes.len(), voice_note().len());
    assert!(!String::from_utf8_lossy(&bytes).contains("+30.7453"), "the place is gone");
    t.get(Some("resident"), &format!("/api/v1/media/{id}/thumbnail")).await.problem(404, None);

    // Reported with it: the center sees it with the case.
    let report = t
        .post(
            Some("resident"),
            "/api/v1/cases",
            json!({ "description": "语音反映：路口积水", "lat": IN_GRID1.0, "lon": IN_GRID1.1, "photos": [id] }),
        )
        .await;
    let case = report.ok()["case"]["id"].as_i64().unwrap();
    let d = t.detail("dispatcher", case).await;
    assert_eq!(d["media"][0]["content_type"], "audio/mp4", "{d:#}");

    // Formats browsers cannot play, and recordings over the limit, are refused by field.
    let amr = Part::bytes(b"#!AMR\n\x3c\x48\x77\x44".to_vec()).file_name("v.amr").mime_str("audio/amr").unwrap();
    t.post_multipart(Some("resident"), "/api/v1/media", Form::new().part("file", amr)).await.problem(415, Some("file"));
    let small = TestApp::spawn_with(backend(), None, |s| s.max_audio_mb = 0).await;
    let part = Part::bytes(voice_note()).file_name("voice.m4a").mime_str("audio/mp4").unwrap();
    let r = small.post_multipart(Some("resident"), "/api/v1/media", Form::new().part("file", part)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{r:?}");
}
